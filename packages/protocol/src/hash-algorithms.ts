/**
 * TPM hash algorithms Vigil accepts for PCR banks and digests (TPM 2.0
 * Part 2 §6.3 TPM_ALG_ID), by the names the messages use. Kept apart from
 * the schemas so that `@vigil/protocol/core` users (the agent's enrollment
 * facts) get the list without loading TypeBox.
 */
export const HASH_ALGORITHMS = ['sha1', 'sha256', 'sha384', 'sha512'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

/** Digest size in bytes per algorithm. */
export const DIGEST_SIZE: Readonly<Record<HashAlgorithm, number>> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };
