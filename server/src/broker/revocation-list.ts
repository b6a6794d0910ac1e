import { normalizeSerial } from '../pki/serial.js';

/**
 * What the broker asks on every connection: a synchronous, in-memory lookup.
 * The store offers the persistent list; the broker loads it once at start and
 * is told of each new revocation (`Broker.revokeDevice`).
 * Serials are canonical lowercase hex (see `normalizeSerial`).
 */
export interface RevocationList {
  isRevoked(serial: string): boolean;
  isDeviceRevoked(deviceId: string): boolean;
}

/** Revoked serials and device ids held in two hash sets. */
export class MemoryRevocationList implements RevocationList {
  readonly #serials = new Set<string>();
  readonly #devices = new Set<string>();

  constructor(initial: { serials?: Iterable<string>; deviceIds?: Iterable<string> } = {}) {
    for (const s of initial.serials ?? []) this.addSerial(s);
    for (const d of initial.deviceIds ?? []) this.#devices.add(d);
  }

  isRevoked(serial: string): boolean {
    return this.#serials.has(serial);
  }

  isDeviceRevoked(deviceId: string): boolean {
    return this.#devices.has(deviceId);
  }

  /** Revokes the given certificate serials, and the device id itself when given. */
  revoke(deviceId: string | undefined, serials: Iterable<string>): void {
    if (deviceId !== undefined) this.#devices.add(deviceId);
    for (const s of serials) this.addSerial(s);
  }

  /** Lifts the device-id revocation; its revoked certificates stay revoked (a reinstated device gets a new one). */
  reinstate(deviceId: string): void {
    this.#devices.delete(deviceId);
  }

  get size(): { serials: number; devices: number } {
    return { serials: this.#serials.size, devices: this.#devices.size };
  }

  private addSerial(serial: string): void {
    const canonical = normalizeSerial(serial);
    if (canonical !== undefined) this.#serials.add(canonical);
  }
}

/** True when any of the lists says revoked. */
export function anyRevoked(lists: readonly RevocationList[], serial: string, deviceId: string): boolean {
  for (const l of lists) if (l.isRevoked(serial) || l.isDeviceRevoked(deviceId)) return true;
  return false;
}
