import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AUDIT_GENESIS_HASH, AuditChainVerifier, auditEntryHash, type AuditRow } from '../src/store/audit-chain.js';

/** The audit chain check on its own (pure): any single change to any stored field is caught at that entry. */

function chain(entries: Array<Pick<AuditRow, 'actor' | 'action' | 'subject' | 'details'>>): AuditRow[] {
  const rows: AuditRow[] = [];
  let prevHash = AUDIT_GENESIS_HASH;
  entries.forEach((e, i) => {
    const row = { seq: i + 1, at: 1_767_225_600_000 + i, ...e, prevHash };
    const hash = auditEntryHash(row);
    rows.push({ ...row, hash });
    prevHash = hash;
  });
  return rows;
}

function verify(rows: AuditRow[]) {
  const v = new AuditChainVerifier();
  for (const r of rows) if (!v.add(r)) break;
  return v.result();
}

const entryArb = fc.record({
  actor: fc.string({ minLength: 1, maxLength: 12 }),
  action: fc.constantFrom('device.revoke', 'token.create', 'policy.assign'),
  subject: fc.string({ minLength: 1, maxLength: 12 }),
  details: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify({ v })),
});

const fields = ['seq', 'at', 'actor', 'action', 'subject', 'details', 'prevHash', 'hash'] as const;

describe('audit chain verification', () => {
  it('an intact chain verifies with its head hash', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 20 }), (entries) => {
        const rows = chain(entries);
        expect(verify(rows)).toEqual({ ok: true, entries: rows.length, headHash: rows.at(-1)?.hash ?? AUDIT_GENESIS_HASH });
      }),
    );
  });

  it('changing any one field of any entry is reported at exactly that entry (property)', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { minLength: 1, maxLength: 12 }), fc.nat(), fc.constantFrom(...fields), fc.string({ minLength: 1, maxLength: 4 }), (entries, at, field, junk) => {
        const rows = chain(entries);
        const k = at % rows.length;
        const original = rows[k]!;
        const changed: AuditRow =
          field === 'seq' || field === 'at'
            ? { ...original, [field]: original[field] + 1 + junk.length }
            : { ...original, [field]: original[field] + junk };
        rows[k] = changed;
        const result = verify(rows);
        expect(result.ok).toBe(false);
        if (!result.ok) {
          expect(result.brokenSeq).toBe(changed.seq);
          expect(result.entries).toBe(k);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('removing, duplicating or swapping entries is reported at the first entry out of place (property)', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { minLength: 3, maxLength: 12 }), fc.nat(), fc.constantFrom('remove', 'duplicate', 'swap'), (entries, at, how) => {
        const rows = chain(entries);
        const k = at % (rows.length - 1);
        if (how === 'remove') rows.splice(k, 1);
        if (how === 'duplicate') rows.splice(k, 0, rows[k]!);
        if (how === 'swap') [rows[k], rows[k + 1]] = [rows[k + 1]!, rows[k]!];
        // A duplicate is first out of place right after the original.
        const firstBad = how === 'duplicate' ? k + 1 : k;
        expect(verify(rows)).toMatchObject({ ok: false, entries: firstBad, brokenSeq: rows[firstBad]!.seq });
      }),
      { numRuns: 300 },
    );
  });
});
