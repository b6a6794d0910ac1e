import Type, { type Static } from 'typebox';
import { Base64, CertificateSerial, DeviceId, EpochMs, Sha256Hex, Struct, Text, Version } from './primitives.js';

/** Why a device was revoked. */
export const REVOCATION_REASONS = [
  /** A verdict was contraindicated. */
  'contraindicated',
  /** No verified attestation for longer than the grace period. */
  'stale',
  /** An administrator revoked it. */
  'admin',
] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];
export const RevocationReason = Type.Enum(REVOCATION_REASONS);

/**
 * `fleet/revocations`, server → every device and relying party. Signed by
 * the server so a relying party that only sees this message (e.g. through a
 * bridged broker) can trust it; see `revocationSigningBytes` for the exact
 * bytes signed.
 */
export const RevocationEvent = Struct({
  v: Version,
  deviceId: DeviceId,
  serials: Type.Array(CertificateSerial, { maxItems: 32, description: 'the device certificates revoked now' }),
  reason: RevocationReason,
  message: Type.Optional(Text(512)),
  revokedAt: EpochMs,
  keyId: Sha256Hex,
  signature: Base64(1024),
});
export type RevocationEvent = Static<typeof RevocationEvent>;

/** A revocation event before signing: everything but `keyId` and `signature`. */
export type UnsignedRevocationEvent = Omit<RevocationEvent, 'keyId' | 'signature'>;
