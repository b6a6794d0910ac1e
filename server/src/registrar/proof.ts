import type { KeyObject } from 'node:crypto';
import { decodeEnrollProof, ProtocolError, verifyEnrollProof, type EnrollResult } from '@vigil/protocol';
import type { SessionRejection } from '../store/index.js';
import type { RegistrarContext } from './registrar-context.js';
import { refuse } from './refusal.js';
import { describeProtocolError, resumableCertificate } from './request.js';
import { sessionContextFromJson } from './session-context.js';

/** A device registered and its certificate issued. */
export interface Registration {
  readonly result: Extract<EnrollResult, { ok: true }>;
  readonly reenrolled: boolean;
  /** The enrollment had completed before (its result was lost): the same certificate was sent again. */
  readonly resumed?: boolean;
  readonly serial: string;
  /** Certificates of an earlier enrollment of this device, revoked by this one. */
  readonly supersededSerials: readonly string[];
}

const SESSION_REFUSALS = {
  unknown: ['session-unknown', 'no such enrollment session'],
  // Another client's session: answered like an unknown one, so ids cannot be probed.
  'other-client': ['session-unknown', 'no such enrollment session'],
  used: ['session-used', 'this enrollment session was already answered or replaced by a newer request'],
  expired: ['session-expired', 'the enrollment session expired; send a new request'],
} as const satisfies Record<SessionRejection, readonly [string, string]>;

/**
 * Step 2, `enroll/<bootstrapId>/proof`: schema → the session is this
 * client's, open, unexpired, and now consumed (single use, atomically, its
 * secret wiped) → the proof is the HMAC of the activated secret for this
 * bootstrap id and session → the device certificate is issued for the key
 * the client proved in its TLS handshake → `enrollDevice` registers device,
 * certificate, token use and audit entry in one transaction (the token is
 * judged again there: used up or revoked meanwhile is refused).
 */
export async function completeSession(
  ctx: RegistrarContext,
  bootstrapId: string,
  bootstrapKey: KeyObject,
  payload: Uint8Array,
  now: number,
): Promise<Registration> {
  const proof = decodeEnrollProof(payload);
  if (proof instanceof ProtocolError) refuse('invalid-request', describeProtocolError(proof));

  const consumed = await ctx.store.consumeEnrollmentSession(proof.sessionId, bootstrapId, now);
  if (!consumed.ok) {
    const [reason, message] = SESSION_REFUSALS[consumed.reason];
    refuse(reason, message);
  }
  const session = consumed.session;
  const context = sessionContextFromJson(session.context);
  if (context === undefined) throw new Error(`enrollment session ${session.id} has a malformed context in the store`);

  if (!verifyEnrollProof(session.secret, bootstrapId, session.id, proof.proof)) {
    refuse('proof-invalid', 'the proof does not match the credential secret: the AK is not in the TPM of this EK, or the proof is wrong');
  }

  if (context.resume === true) {
    // The enrollment completed earlier and its result was lost: the same answer again, nothing new registered.
    const device = await ctx.store.getDevice(context.deviceId);
    const certificate = device === null ? undefined : await resumableCertificate(ctx, device, context.akName, bootstrapKey, now);
    if (certificate === undefined) refuse('already-enrolled', 'this TPM is already enrolled; an administrator must allow its re-enrollment');
    await ctx.store.appendAudit({ actor: 'registrar', action: 'enroll.resume', subject: `device:${context.deviceId}`, details: { bootstrapId, serial: certificate.serial } });
    return {
      result: { v: 1, ok: true, deviceId: context.deviceId, certificate: certificate.pem, chain: [ctx.ca.certificatePem] },
      reenrolled: false,
      resumed: true,
      serial: certificate.serial,
      supersededSerials: [],
    };
  }

  const issued = ctx.ca.issueDeviceCertificate({ publicKey: bootstrapKey, deviceId: context.deviceId, validityMs: ctx.settings.certificateValidityMs });
  const enrolled = await ctx.store.enrollDevice({
    tokenHash: context.tokenHash,
    device: {
      id: context.deviceId,
      ekPublic: fromBase64(context.ekPublic),
      ekName: context.ekName,
      ekCertificate: context.ekCertificate === null ? null : fromBase64(context.ekCertificate),
      akPublic: fromBase64(context.akPublic),
      akName: context.akName,
      facts: context.facts,
    },
    certificate: { serial: issued.serial, notBefore: issued.notBefore.getTime(), notAfter: issued.notAfter.getTime(), pem: issued.pem },
    actor: 'registrar',
  });
  if (!enrolled.ok) refuse(enrolled.reason, REGISTRATION_MESSAGES[enrolled.reason]);

  return {
    result: { v: 1, ok: true, deviceId: enrolled.device.id, certificate: issued.pem, chain: [ctx.ca.certificatePem] },
    reenrolled: enrolled.reenrolled,
    resumed: false,
    serial: issued.serial,
    supersededSerials: enrolled.revokedSerials,
  };
}

const REGISTRATION_MESSAGES = {
  'token-unknown': 'the enrollment token is no longer known',
  'token-expired': 'the enrollment token expired before the proof arrived',
  'token-used-up': 'the enrollment token was used up before the proof arrived',
  'token-revoked': 'the enrollment token was revoked before the proof arrived',
  'already-enrolled': 'this TPM was enrolled meanwhile, or its re-enrollment is no longer allowed',
  'device-name-taken': 'the device id was taken meanwhile by another TPM',
} as const;

function fromBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'base64'));
}
