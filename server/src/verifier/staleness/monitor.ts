import type { Logger } from '../../log.js';
import type { Device, Store } from '../../store/index.js';

/** Revokes a stale device (the revocation service). */
export interface StaleRevoker {
  revoke(deviceId: string, reason: 'stale', actor: string, message?: string): Promise<unknown>;
}

export interface StalenessOptions {
  readonly intervalMs: number;
  /** Intervals without a verified attestation before a device turns `warning`. */
  readonly staleAfterIntervals: number;
  /** Time a stale device stays `warning` before it is revoked. */
  readonly graceMs: number;
  /** How often the fleet is checked (default: half an interval, between 50 ms and 30 s). */
  readonly checkEveryMs?: number;
}

/**
 * Watches for devices that stopped proving themselves. A device with no
 * verified attestation for `staleAfterIntervals` intervals turns `warning`
 * (audited, reason `stale`); `graceMs` later it is revoked (reason
 * `stale`). Time counts from the device's last verified attestation, or,
 * if it has none, from its enrollment or reinstatement — and never from
 * before this monitor started, so a verifier outage does not revoke the
 * fleet when the verifier comes back.
 */
export class StalenessMonitor {
  readonly #startedAt: number;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;
  readonly #reinstatedAt = new Map<string, number>();

  constructor(
    private readonly deps: { readonly store: Store; readonly revoker: StaleRevoker; readonly log: Logger; readonly now?: () => number },
    private readonly options: StalenessOptions,
  ) {
    this.#startedAt = this.#now();
  }

  get staleAfterMs(): number {
    return this.options.intervalMs * this.options.staleAfterIntervals;
  }

  start(): void {
    const every = this.options.checkEveryMs ?? Math.min(30_000, Math.max(50, this.options.intervalMs / 2));
    this.#timer = setInterval(() => void this.check(), every);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#checking;
  }

  /** One pass over the fleet (also run by the timer). */
  check(): Promise<void> {
    this.#checking ??= this.#check()
      .catch((err: unknown) => this.deps.log.error({ err }, 'staleness check failed'))
      .finally(() => {
        this.#checking = undefined;
      });
    return this.#checking;
  }

  #now(): number {
    return (this.deps.now ?? Date.now)();
  }

  async #check(): Promise<void> {
    const now = this.#now();
    for (const device of await this.deps.store.listDevices({ revoked: false })) {
      const since = Math.max(await this.#baseline(device), this.#startedAt);
      const silentFor = now - since;
      if (silentFor < this.staleAfterMs) continue;
      if (silentFor >= this.staleAfterMs + this.options.graceMs) {
        const minutes = Math.round(silentFor / 60_000);
        await this.deps.revoker.revoke(device.id, 'stale', 'staleness', `no verified attestation for ${minutes >= 1 ? `${minutes} min` : `${Math.round(silentFor / 1000)} s`}`);
      } else if (device.status === 'affirming' || device.status === 'none') {
        await this.deps.store.setDeviceStatus({ deviceId: device.id, status: 'warning', reason: 'stale', actor: 'staleness' });
        this.deps.log.warn({ deviceId: device.id, silentForMs: silentFor }, 'device is stale');
      }
    }
  }

  async #baseline(device: Device): Promise<number> {
    if (device.lastVerifiedAt !== null) return device.lastVerifiedAt;
    // Never verified since enrollment or reinstatement: count from the later of the two.
    let reinstated = this.#reinstatedAt.get(device.id);
    if (reinstated === undefined) {
      const revocations = await this.deps.store.listRevocations(device.id);
      reinstated = Math.max(0, ...revocations.map((r) => r.reinstatedAt ?? 0));
      this.#reinstatedAt.set(device.id, reinstated);
    }
    return Math.max(device.createdAt, reinstated);
  }

  /** A device was reinstated: its clock starts again. */
  reinstated(deviceId: string): void {
    this.#reinstatedAt.delete(deviceId);
  }
}
