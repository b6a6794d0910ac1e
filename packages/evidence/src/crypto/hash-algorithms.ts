import { hash as oneShot, getHashes } from 'node:crypto';

/**
 * TPM_ALG_ID values of the hash algorithms a PCR bank can use (TCG Algorithm
 * Registry, table 3) and their digest sizes. `name` is the bank name used in
 * replay results and the fixtures' expected files.
 */
export const HASH_ALGORITHMS = [
  { id: 0x0004, name: 'sha1', size: 20, node: 'sha1' },
  { id: 0x000b, name: 'sha256', size: 32, node: 'sha256' },
  { id: 0x000c, name: 'sha384', size: 48, node: 'sha384' },
  { id: 0x000d, name: 'sha512', size: 64, node: 'sha512' },
  { id: 0x0012, name: 'sm3_256', size: 32, node: 'sm3' },
  { id: 0x0027, name: 'sha3_256', size: 32, node: 'sha3-256' },
  { id: 0x0028, name: 'sha3_384', size: 48, node: 'sha3-384' },
  { id: 0x0029, name: 'sha3_512', size: 64, node: 'sha3-512' },
] as const;

export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];
/** A bank name: `sha1`, `sha256`, ... or `alg_0x1234` for an algorithm we do not know. */
export type BankName = string;

const byId = new Map<number, HashAlgorithm>(HASH_ALGORITHMS.map((a) => [a.id, a]));
const byName = new Map<string, HashAlgorithm>(HASH_ALGORITHMS.map((a) => [a.name, a]));
const nodeHashes = new Set(getHashes());

export function hashAlgorithmById(id: number): HashAlgorithm | undefined {
  return byId.get(id);
}

export function hashAlgorithmByName(name: string): HashAlgorithm | undefined {
  return byName.get(name);
}

export function bankName(algorithmId: number): BankName {
  return byId.get(algorithmId)?.name ?? `alg_0x${algorithmId.toString(16).padStart(4, '0')}`;
}

/** Whether this Node/OpenSSL build can compute the algorithm (sm3 and sha3 depend on the build). */
export function canHash(algorithmId: number): boolean {
  const a = byId.get(algorithmId);
  return a !== undefined && nodeHashes.has(a.node);
}

export function digest(algorithmId: number, ...parts: Uint8Array[]): Uint8Array {
  const a = byId.get(algorithmId);
  if (!a || !nodeHashes.has(a.node)) throw new Error(`hash algorithm 0x${algorithmId.toString(16)} is not available`);
  // One-shot hashing: replay hashes millions of small inputs, where a Hash
  // object per call costs more than the hashing itself.
  const out = oneShot(a.node, parts.length === 1 ? parts[0]! : Buffer.concat(parts), 'buffer');
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
