/**
 * The roles an admin certificate can carry (`urn:vigil:role:<role>`),
 * weakest first. Its own module, free of certificate code, because every
 * `vigil-server` command loads it (through the admin operations registry).
 */
export const ADMIN_ROLES = ['viewer', 'operator', 'admin'] as const;
export type AdminCertificateRole = (typeof ADMIN_ROLES)[number];
