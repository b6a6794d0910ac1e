import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Domain-separation label of the enrollment proof: the HMAC key (the
 * activated credential secret) is used for nothing else, but the label keeps
 * the proof meaningful only here, and versioned.
 */
export const ENROLL_PROOF_LABEL = 'vigil/v1 enrollment proof';

/**
 * Proof that the TPM holding the EK released the MakeCredential secret for
 * the AK (TPM 2.0 Part 3 §12.5 ActivateCredential), without sending the
 * secret: `hex(HMAC-SHA256(key = secret, message = label || 0x00 ||
 * bootstrapId || 0x00 || sessionId))`, strings UTF-8. Neither id can contain
 * NUL, so the message parses one way only. Binding the bootstrap id ties the
 * proof to the TLS key that will receive the certificate; binding the
 * session id makes it single-use.
 */
export function computeEnrollProof(secret: Uint8Array, bootstrapId: string, sessionId: string): string {
  return createHmac('sha256', secret)
    .update(ENROLL_PROOF_LABEL)
    .update(NUL)
    .update(bootstrapId)
    .update(NUL)
    .update(sessionId)
    .digest('hex');
}

const NUL = new Uint8Array([0]);

/** Constant-time check of a proof (hex) against the expected one. */
export function verifyEnrollProof(secret: Uint8Array, bootstrapId: string, sessionId: string, proofHex: string): boolean {
  const expected = Buffer.from(computeEnrollProof(secret, bootstrapId, sessionId), 'hex');
  if (!/^[0-9a-f]{64}$/.test(proofHex)) return false;
  return timingSafeEqual(expected, Buffer.from(proofHex, 'hex'));
}
