import { createHash } from 'node:crypto';
import { canonicalJson } from '@vigil/protocol/core';
import type { AuditVerification } from './entities/audit.js';

/** prevHash of the first entry. */
export const AUDIT_GENESIS_HASH = '0'.repeat(64);

/** Domain separation for audit hashes (and the version of this encoding). */
const AUDIT_HASH_CONTEXT = 'vigil-audit-v1\n';

/** An audit row as stored: `details` is the exact canonical JSON text that was written. */
export interface AuditRow {
  readonly seq: number;
  readonly at: number;
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly details: string;
  readonly prevHash: string;
  readonly hash: string;
}

/**
 * The hash of an audit entry: lowercase hex SHA-256 over UTF-8 of
 * `"vigil-audit-v1\n"` + canonical JSON of
 * `{action, actor, at, details, prevHash, seq, subject}` where `details` is
 * the stored details text as a JSON string. Because prevHash is inside,
 * every entry commits to all entries before it. The details are hashed as
 * stored text (not re-serialised) so the check is exact and does not depend
 * on how a database returns JSON.
 */
export function auditEntryHash(row: Omit<AuditRow, 'hash'>): string {
  const encoded = canonicalJson({
    action: row.action,
    actor: row.actor,
    at: row.at,
    details: row.details,
    prevHash: row.prevHash,
    seq: row.seq,
    subject: row.subject,
  });
  return createHash('sha256').update(AUDIT_HASH_CONTEXT + encoded, 'utf8').digest('hex');
}

/**
 * Checks a chain incrementally (rows in seq order, possibly in pages).
 * Sequence numbers must run 1, 2, 3, ... with no gap; each prevHash must be
 * the previous entry's hash; each hash must match the entry's content.
 */
export class AuditChainVerifier {
  private expectedSeq = 1;
  private prevHash = AUDIT_GENESIS_HASH;
  private broken: Extract<AuditVerification, { ok: false }> | undefined;

  /** Feeds the next row; returns false once the chain is broken (stop feeding). */
  add(row: AuditRow): boolean {
    if (this.broken !== undefined) return false;
    const entries = this.expectedSeq - 1;
    const fail = (why: string): false => {
      this.broken = { ok: false, entries, brokenSeq: row.seq, why };
      return false;
    };
    if (row.seq !== this.expectedSeq) {
      return fail(
        row.seq > this.expectedSeq
          ? `entries ${this.expectedSeq}..${row.seq - 1} are missing`
          : `sequence number ${row.seq} where ${this.expectedSeq} was expected`,
      );
    }
    if (row.prevHash !== this.prevHash) {
      return fail(`its previous-hash does not match entry ${row.seq - 1}: an earlier entry was changed or removed`);
    }
    if (auditEntryHash(row) !== row.hash) {
      return fail('its content does not match its hash: the entry was changed');
    }
    this.prevHash = row.hash;
    this.expectedSeq++;
    return true;
  }

  result(): AuditVerification {
    return this.broken ?? { ok: true, entries: this.expectedSeq - 1, headHash: this.prevHash };
  }
}
