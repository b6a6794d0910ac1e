import { createHash, randomBytes } from 'node:crypto';

/** Recognisable prefix of enrollment tokens (secret scanners can match `vgl_[A-Za-z0-9_-]{43}`). */
export const ENROLLMENT_TOKEN_PREFIX = 'vgl_';

/** A new enrollment token: `vgl_` + 32 random bytes base64url (256 bits of entropy). Shown once, never stored. */
export function generateEnrollmentToken(): string {
  return ENROLLMENT_TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/**
 * What the store keeps of a token: lowercase hex SHA-256 of its UTF-8 text.
 * A fast unsalted hash is enough because tokens are 256-bit random, not
 * passwords: nobody can search that space from a stolen database.
 */
export function hashEnrollmentToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
