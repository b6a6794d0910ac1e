/**
 * A typed name for a service one component offers the others (and the
 * admin operations), e.g. the verifier's "attest this device now".
 * Declare it next to the service: `export const AttestNow = serviceKey<AttestNowService>('verifier.attest-now')`.
 */
export interface ServiceKey<T> {
  readonly name: string;
  /** Never set: carries `T` for the type checker only. */
  readonly type?: T;
}

export function serviceKey<T>(name: string): ServiceKey<T> {
  return { name };
}

/**
 * The services the running server's components provide, found by key. A
 * component provides its services when it starts; components started later
 * and the admin API look them up. Absent services are normal (tests start
 * subsets of the server), so `get` may return undefined.
 */
export class ServiceDirectory {
  readonly #services = new Map<string, unknown>();

  provide<T>(key: ServiceKey<T>, service: T): void {
    if (this.#services.has(key.name)) throw new Error(`service ${key.name} is already provided`);
    this.#services.set(key.name, service);
  }

  get<T>(key: ServiceKey<T>): T | undefined {
    return this.#services.get(key.name) as T | undefined;
  }

  /** Removes a service (its component is closing). */
  withdraw(key: ServiceKey<unknown>): void {
    this.#services.delete(key.name);
  }
}
