import { createHash } from 'node:crypto';

/**
 * The agent's bootstrap id: lowercase hex SHA-256 of its public key's
 * SubjectPublicKeyInfo DER. The broker computes the same value from the TLS
 * client certificate, so both name the same `enroll/<bootstrapId>/...` topics.
 *
 * TODO(protocol): use `bootstrapIdFromSpki` from `@vigil/protocol` once exported.
 */
export function bootstrapIdFromSpki(spkiDer: Uint8Array): string {
  return createHash('sha256').update(spkiDer).digest('hex');
}
