/**
 * What each variant of the floor keeps of the irreducible work: `tls` is the
 * floor itself; `tcp` drops TLS (the difference is what mutual TLS costs per
 * verdict); `tls-nocrypto` keeps TLS and drops the ECDSA signature and its
 * verification (the difference is what ECDSA costs).
 */
export const FLOOR_VARIANTS = ['tls', 'tcp', 'tls-nocrypto'] as const;
export type FloorVariant = (typeof FLOOR_VARIANTS)[number];

export interface VariantTraits {
  /** Mutual TLS 1.3 (client certificate required and verified); otherwise plain TCP. */
  readonly tls: boolean;
  /** The device signs its quote (ECDSA P-256, SHA-256) and the server verifies it. */
  readonly ecdsa: boolean;
}

export const VARIANT_TRAITS: Readonly<Record<FloorVariant, VariantTraits>> = {
  tls: { tls: true, ecdsa: true },
  tcp: { tls: false, ecdsa: true },
  'tls-nocrypto': { tls: true, ecdsa: false },
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
