import type { Logger } from '../../log.js';
import type { Device, IfLastVerifiedAt, Store } from '../../store/index.js';
import { DEVICE_PAGE_SIZE, devicePages } from '../../store/index.js';

/** Revokes a stale device (the revocation service); `ifLastVerifiedAt` as in `Store.revokeDevice`. */
export interface StaleRevoker {
  revoke(deviceId: string, reason: 'stale', actor: string, message: string, ifLastVerifiedAt: IfLastVerifiedAt): Promise<{ readonly ok: boolean }>;
}

export interface StalenessOptions {
  readonly intervalMs: number;
  /** Intervals without a verified attestation before a device turns `warning`. */
  readonly staleAfterIntervals: number;
  /** Time a stale device stays `warning` before it is revoked. */
  readonly graceMs: number;
  /** How often the fleet is checked (default: half an interval, between 50 ms and 30 s). */
  readonly checkEveryMs?: number;
  /** Devices read from the store at a time, the event loop let go between pages (default 500). */
  readonly pageSize?: number;
}

/**
 * Watches for devices that stopped proving themselves. A device with no
 * verified attestation for `staleAfterIntervals` intervals turns `warning`
 * (audited, reason `stale`); `graceMs` later it is revoked (reason
 * `stale`). Time counts from the device's last verified attestation, or,
 * if it has none, from its enrollment or reinstatement — and never from
 * before this monitor started, so a verifier outage does not revoke the
 * fleet when the verifier comes back.
 *
 * A check must not cost in proportion to the fleet: listing every device
 * (each row read and decoded, synchronously on SQLite) held the event loop
 * ~20 ms per 1,000 devices, a latency spike for every other device each
 * half interval. So a check reads only the devices silent for
 * `staleAfterMs` already (the store's `silentSince`), a page at a time with
 * a turn of the event loop between pages, and none at all until
 * `staleAfterMs` has passed since the monitor started.
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

  /**
   * Only devices silent since `now - staleAfterMs` can be stale, and time
   * never counts from before the monitor started: until `staleAfterMs` has
   * passed since then, nothing is read. After that the store lists only
   * the devices whose last verification (or creation) is that old
   * (`silentSince`), in pages of `pageSize` by id (`afterId`), yielding to
   * the event loop between pages. The filter has no index, on purpose:
   * `last_verified_at` is written with every verdict, and an index would add
   * a write to the verifier's hot path; scanning the rows in the database
   * is cheap, decoding them all into devices was not. It is only a
   * pre-filter: each device listed is still judged here from its own
   * baseline (a reinstatement after `silentSince` still restarts its clock).
   *
   * Each decision is taken on the device as listed, and a verdict may be
   * recorded between the list and the change (by this process or another
   * replica): the change is conditioned on the device's last verification
   * being still the one read (`IfLastVerifiedAt`), so a device verified
   * meanwhile keeps its verdict's status and is not revoked.
   */
  async #check(): Promise<void> {
    const now = this.#now();
    const silentSince = now - this.staleAfterMs;
    if (this.#startedAt > silentSince) return;
    // Stored times are whole milliseconds: flooring the cut keeps exactly the same devices.
    const filter = { revoked: false, silentSince: Math.floor(silentSince) };
    for await (const page of devicePages(this.deps.store, filter, this.options.pageSize ?? DEVICE_PAGE_SIZE)) {
      for (const device of page) await this.#judge(device, now);
    }
  }

  async #judge(device: Device, now: number): Promise<void> {
    const since = Math.max(await this.#baseline(device), this.#startedAt);
    const silentFor = now - since;
    if (silentFor < this.staleAfterMs) return;
    const ifLastVerifiedAt = device.lastVerifiedAt;
    if (silentFor >= this.staleAfterMs + this.options.graceMs) {
      const minutes = Math.round(silentFor / 60_000);
      const message = `no verified attestation for ${minutes >= 1 ? `${minutes} min` : `${Math.round(silentFor / 1000)} s`}`;
      const revoked = await this.deps.revoker.revoke(device.id, 'stale', 'staleness', message, ifLastVerifiedAt);
      if (!revoked.ok) this.deps.log.debug({ deviceId: device.id }, 'stale device not revoked: verified, revoked or removed since the check read it');
    } else if (device.status === 'affirming' || device.status === 'none') {
      if (await this.deps.store.setDeviceStatus({ deviceId: device.id, status: 'warning', reason: 'stale', actor: 'staleness', ifLastVerifiedAt })) {
        this.deps.log.warn({ deviceId: device.id, silentForMs: silentFor }, 'device is stale');
      } else {
        this.deps.log.debug({ deviceId: device.id }, 'device not marked stale: verified or removed since the check read it');
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
