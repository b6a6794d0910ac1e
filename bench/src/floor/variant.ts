/**
 * What each variant of the floor keeps of the irreducible work: `tls` is the
 * floor itself; `tcp` drops TLS (the difference is what mutual TLS costs per
 * verdict); `tls-nocrypto` keeps TLS and drops the ECDSA signature and its
 * verification (the difference is what ECDSA costs).
 *
 * The ladder adds, one at a time, the parts the design prescribes and the
 * floor leaves out, each done the least a conforming server can do it:
 * `mqtt` carries the floor's frames as MQTT publishes on the design's topics
 * through the server's real broker (`startBroker`: aedes, its access
 * policy and limits); `mqtt-json` makes every message the protocol's JSON,
 * decoded and encoded through its schemas (`@vigil/protocol`), with the
 * checks only JSON evidence needs (the quote parsed whole, the PCR digest
 * recomputed from the reported values, a TPMT_SIGNATURE); `mqtt-json-sqlite`
 * records each verdict durably before it is published (a challenge use and
 * an attestation row in SQLite, group-committed). What the real verifier
 * spends beyond the last rung is its own: device standing, policy, log
 * replay, EAR appraisal, bookkeeping.
 */
export const FLOOR_VARIANTS = ['tls', 'tcp', 'tls-nocrypto', 'mqtt', 'mqtt-json', 'mqtt-json-sqlite'] as const;
export type FloorVariant = (typeof FLOOR_VARIANTS)[number];

export interface VariantTraits {
  /** Mutual TLS 1.3 (client certificate required and verified); otherwise plain TCP. */
  readonly tls: boolean;
  /** The device signs its quote (ECDSA P-256, SHA-256) and the server verifies it. */
  readonly ecdsa: boolean;
  /** Messages are MQTT 3.1.1 publishes through the server's broker (`startBroker`), not bare frames. */
  readonly mqtt: boolean;
  /** Payloads are the protocol's JSON messages through its schemas, not the floor's binary frames (with `mqtt` only). */
  readonly json: boolean;
  /** Each verdict is recorded in SQLite before its result is sent (with `json` only). */
  readonly sqlite: boolean;
}

export const VARIANT_TRAITS: Readonly<Record<FloorVariant, VariantTraits>> = {
  tls: { tls: true, ecdsa: true, mqtt: false, json: false, sqlite: false },
  tcp: { tls: false, ecdsa: true, mqtt: false, json: false, sqlite: false },
  'tls-nocrypto': { tls: true, ecdsa: false, mqtt: false, json: false, sqlite: false },
  mqtt: { tls: true, ecdsa: true, mqtt: true, json: false, sqlite: false },
  'mqtt-json': { tls: true, ecdsa: true, mqtt: true, json: true, sqlite: false },
  'mqtt-json-sqlite': { tls: true, ecdsa: true, mqtt: true, json: true, sqlite: true },
};

/** `--variants a,b`: the named variants in that order, each once; all when absent. Throws a RangeError naming a bad one. */
export function parseVariants(raw: string | undefined): FloorVariant[] {
  if (raw === undefined) return [...FLOOR_VARIANTS];
  const names = raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new RangeError('--variants names no variant');
  const out: FloorVariant[] = [];
  for (const name of names) {
    if (!(FLOOR_VARIANTS as readonly string[]).includes(name)) throw new RangeError(`--variants: unknown variant ${JSON.stringify(name)} (known: ${FLOOR_VARIANTS.join(', ')})`);
    if (!out.includes(name as FloorVariant)) out.push(name as FloorVariant);
  }
  return out;
}
