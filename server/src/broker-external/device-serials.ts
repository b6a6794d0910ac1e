import type { Store } from '../store/index.js';

/**
 * The certificate serial a device's messages are attributed to in
 * external mode. Vigil's own broker knows which certificate each session
 * presented; an external broker does not say. Every valid certificate of a
 * device certifies the same key (renewals reuse it, a re-enrollment with a
 * new key revokes the old certificates), so the verifier, which uses the
 * serial only to renew, is given the device's newest unrevoked, unexpired
 * certificate from the store: '' when there is none (nothing is renewed).
 * Looked up at most once per `ttlMs` per device.
 */
export class DeviceSerials {
  readonly #cache = new Map<string, { serial: string; at: number }>();
  readonly #loading = new Map<string, Promise<string>>();

  constructor(
    private readonly store: Store,
    private readonly ttlMs = 60_000,
    private readonly now: () => number = Date.now,
    private readonly capacity = 200_000,
  ) {}

  async serialOf(deviceId: string): Promise<string> {
    const hit = this.#cache.get(deviceId);
    if (hit !== undefined && this.now() - hit.at < this.ttlMs) return hit.serial;
    let p = this.#loading.get(deviceId);
    if (p === undefined) {
      p = this.#load(deviceId).finally(() => this.#loading.delete(deviceId));
      this.#loading.set(deviceId, p);
    }
    return p;
  }

  /** Drops what is known of a device (revoked, re-enrolled). */
  forget(deviceId: string): void {
    this.#cache.delete(deviceId);
  }

  async #load(deviceId: string): Promise<string> {
    const now = this.now();
    const valid = (await this.store.listCertificates(deviceId)).filter((c) => c.revokedAt === null && c.notAfter > now);
    const newest = valid.reduce<(typeof valid)[number] | undefined>((best, c) => (best === undefined || c.notAfter > best.notAfter ? c : best), undefined);
    const serial = newest?.serial ?? '';
    if (this.#cache.size >= this.capacity) this.#cache.clear();
    this.#cache.set(deviceId, { serial, at: now });
    return serial;
  }
}
