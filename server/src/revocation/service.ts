import type { KeyObject } from 'node:crypto';
import { topics, type RevocationEvent, type RevocationReason } from '@vigil/protocol';
import type { Broker, MemoryRevocationList } from '../broker/index.js';
import type { Logger } from '../log.js';
import type { ServerMetrics } from '../metrics.js';
import type { IfLastVerifiedAt, RevocationRecord, Store } from '../store/index.js';
import type { WebhookNotifier } from '../webhook/notifier.js';
import { serviceKey } from '../app/services.js';
import type { CrlPublisher } from './crl-publisher.js';
import { encodeRevocation, revocationEvent } from './revocation-event.js';
import { revocationWebhookBody } from './webhook-body.js';

/** The revocation service in the server's service directory. */
export const Revocations = serviceKey<RevocationService>('revocation.service');

export type RevokeOutcome =
  | { readonly ok: true; readonly revocation: RevocationRecord; readonly event: RevocationEvent }
  | { readonly ok: false; readonly reason: 'unknown-device' | 'already-revoked' | 'verified-since' };

export type ReinstateOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: 'unknown-device' | 'not-revoked' };

export interface RevocationListener {
  revoked?(deviceId: string): void;
  reinstated?(deviceId: string): void;
}

export interface RevocationServiceDeps {
  readonly store: Store;
  readonly broker: Broker;
  /** The revocation list the broker was started with (lifted on reinstatement). */
  readonly revocations: MemoryRevocationList;
  readonly crl: CrlPublisher;
  /** The server's signing key for revocation events. */
  readonly signingKey: KeyObject;
  readonly webhook?: WebhookNotifier;
  readonly metrics?: ServerMetrics;
  readonly log: Logger;
  readonly now?: () => number;
}

/**
 * The one way a device is revoked, whoever asks (a contraindicated verdict,
 * an administrator, the staleness monitor):
 *
 * 1. the store transaction (`revokeDevice`: device revoked, its valid
 *    certificates revoked, a revocation row, an audit entry) — the commit
 *    point: from here the revocation has happened, whatever fails next;
 * 2. the broker: the live session closed and the device id and serials
 *    refused from now on (first, so the device is cut off at once);
 * 3. the signed event on `vigil/v1/fleet/revocations`;
 * 4. the CRL reissued from the store's revoked certificates;
 * 5. the webhook call added to the outbox in the store (delivered, with
 *    retries, by the dispatcher: never on this path);
 * 6. the revocation marked as fully applied.
 *
 * If the server dies between 1 and 6, `applyPending()` at the next start
 * re-applies 2-6 for every revocation not marked applied (each step is safe
 * to repeat; the webhook is enqueued once per revocation). So a revocation
 * cannot half-happen.
 */
export class RevocationService {
  readonly #listeners = new Set<RevocationListener>();
  readonly #now: () => number;

  constructor(private readonly deps: RevocationServiceDeps) {
    this.#now = deps.now ?? Date.now;
  }

  onChange(listener: RevocationListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** `ifLastVerifiedAt`: only if the device has not been verified since the caller read it (`IfLastVerifiedAt`). */
  async revoke(deviceId: string, reason: RevocationReason, actor: string, message?: string, ifLastVerifiedAt?: IfLastVerifiedAt): Promise<RevokeOutcome> {
    const result = await this.deps.store.revokeDevice({ deviceId, reason, actor, message: message ?? null, ...(ifLastVerifiedAt !== undefined ? { ifLastVerifiedAt } : {}) });
    if (!result.ok) return result;
    this.deps.metrics?.revocations.inc(reason);
    const event = await this.applyEffects(result.revocation);
    this.deps.log.warn({ deviceId, reason, actor, serials: result.revocation.serials.length }, 'device revoked');
    return { ok: true, revocation: result.revocation, event };
  }

  /**
   * Lifts a revocation: the store (status `none`, re-enrollment allowed,
   * old certificates stay revoked) then the broker's lists. The device must
   * enroll again for a new certificate and pass an attestation before it is
   * trusted.
   */
  async reinstate(deviceId: string, actor: string, message?: string): Promise<ReinstateOutcome> {
    const result = await this.deps.store.reinstateDevice({ deviceId, actor, message: message ?? null });
    if (!result.ok) return result;
    this.deps.broker.reinstateDevice(deviceId);
    this.deps.revocations.reinstate(deviceId);
    for (const l of this.#listeners) l.reinstated?.(deviceId);
    this.deps.log.info({ deviceId, actor }, 'device reinstated');
    return { ok: true };
  }

  /** Re-applies the side effects of every revocation not marked applied (server start). */
  async applyPending(): Promise<number> {
    const pending = await this.deps.store.listRevocationsPendingEffects();
    for (const r of pending) {
      // A device reinstated since keeps its certificates revoked (the CRL) but is no longer cut off.
      await this.applyEffects(r, r.reinstatedAt !== null);
    }
    if (pending.length > 0) this.deps.log.warn({ revocations: pending.length }, 're-applied revocation side effects left pending by an earlier run');
    return pending.length;
  }

  /** Steps 2-6 above for a committed revocation. */
  async applyEffects(record: RevocationRecord, reinstated = false): Promise<RevocationEvent> {
    const { broker, log } = this.deps;
    if (!reinstated) {
      broker.revokeDevice(record.deviceId, record.serials);
      for (const l of this.#listeners) l.revoked?.(record.deviceId);
    } else {
      // Reinstated since: its old certificates stay refused, the device id is not.
      this.deps.revocations.revoke(undefined, record.serials);
    }
    const event = revocationEvent(record, this.deps.signingKey);
    await broker.publish(topics.fleetRevocations, encodeRevocation(event), { qos: 1 }).catch((err: unknown) => {
      log.error({ err, deviceId: record.deviceId }, 'could not publish the revocation event');
    });
    await this.deps.crl.reissue();
    if (this.deps.webhook?.enabled === true) {
      await this.deps.store.enqueueWebhook({ eventKey: `revocation:${record.id}`, kind: 'revocation', body: revocationWebhookBody(record.id, event) });
      this.deps.webhook.wake();
    }
    await this.deps.store.markRevocationEffectsApplied(record.id, this.#now());
    return event;
  }
}
