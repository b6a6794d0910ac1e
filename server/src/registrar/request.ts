import { randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { decodeEnrollRequest, deviceIdFromEkPublic, type EnrollChallenge, type EnrollRequest, ProtocolError, randomId } from '@vigil/protocol';
import { CredentialError, makeCredential, marshal, TPM2B_ENCRYPTED_SECRET, TPM2B_ID_OBJECT } from '@vigil/tpm2-ts';
import { hashEnrollmentToken, type CertificateRecord, type Device, type EnrollmentTokenRecord } from '../store/index.js';
import { checkAkPublic } from './ak-policy.js';
import { certifiesKey } from './ek-certificate.js';
import { checkEkPublic } from './ek-policy.js';
import type { RegistrarContext } from './registrar-context.js';
import { refuse } from './refusal.js';
import { sessionContextToJson, type SessionContext } from './session-context.js';
import { receivePublic, type ReceivedPublic } from './tpm-public.js';

/** The credential secret: 32 bytes, within every EK nameAlg's digest size (Part 3 §12.6). */
const SECRET_BYTES = 32;
/** The fleet CA certifies RSA keys of at least this size (node-forge). */
const MIN_BOOTSTRAP_RSA_BITS = 2048;

/** A MakeCredential challenge issued and its session stored. */
export interface OpenedSession {
  readonly challenge: EnrollChallenge;
  readonly deviceId: string;
  readonly ekName: string;
  /** The token presented; null when the request resumes a completed enrollment (see `resumableCertificate`). */
  readonly tokenId: number | null;
}

/**
 * Step 1, `enroll/<bootstrapId>/request`: everything that can be judged
 * before the TPM proves anything, in this order, each failure a named
 * refusal: schema → bootstrap key certifiable → token (exists, unexpired,
 * uses left, not revoked; consumed only at registration) → EK public area →
 * EK certificate (present unless allowed, chains to a manufacturer CA,
 * certifies this EK) → AK public area and attributes → EK not already
 * enrolled (unless an administrator allowed it: a stolen token must not move
 * a device identity) → MakeCredential(EK, Name(AK), fresh secret) → session
 * stored (secret, keys, token hash, bootstrap id, expiry). The challenge is
 * published by the caller after the session is committed.
 *
 * `bootstrapId` and `bootstrapKey` come from the TLS handshake, never from the topic or payload.
 */
export async function openSession(
  ctx: RegistrarContext,
  bootstrapId: string,
  bootstrapKey: KeyObject,
  payload: Uint8Array,
  now: number,
): Promise<OpenedSession> {
  const request = decodeEnrollRequest(payload);
  if (request instanceof ProtocolError) refuse('invalid-request', describeProtocolError(request));
  checkBootstrapKey(bootstrapKey);

  const tokenHash = hashEnrollmentToken(request.token);
  const token = await ctx.store.checkToken(tokenHash, now);
  // A used-up token may belong to this very client's completed enrollment whose result was lost: judged below.
  if (!token.ok && token.reason !== 'used-up') refuse(`token-${token.reason}`, TOKEN_MESSAGES[token.reason]);

  const ek = receivePublic(request.ekPublic, 'ek-invalid', 'EK');
  checkEkPublic(ek.public);
  const ekCertificate = checkEkCertificate(ctx, request, ek, new Date(now));
  const ak = receivePublic(request.akPublic, 'ak-invalid', 'AK');
  checkAkPublic(ak.public);

  const ekName = hex(ek.name);
  const akName = hex(ak.name);
  const known = await ctx.store.getDeviceByEkName(ekName);
  const resume = known !== null && (await resumableCertificate(ctx, known, akName, bootstrapKey, now)) !== undefined;
  if (!token.ok && !resume) refuse(`token-${token.reason}`, TOKEN_MESSAGES[token.reason]);
  const { deviceId, reenroll } = resume ? { deviceId: known.id, reenroll: false } : await chooseDeviceId(ctx, ekName, ek.bytes, (token as Extract<typeof token, { ok: true }>).token);

  const secret = randomBytes(SECRET_BYTES);
  let credential;
  try {
    credential = makeCredential({ ekPublic: ek.public, name: ak.name, secret });
  } catch (err) {
    if (err instanceof CredentialError) refuse('ek-invalid', `no credential can be made for this EK: ${err.message}`);
    throw err;
  }

  const context: SessionContext = {
    v: 1,
    tokenHash,
    deviceId,
    reenroll,
    ...(resume ? { resume: true } : {}),
    ekPublic: request.ekPublic,
    ekName,
    ekCertificate: ekCertificate ?? null,
    akPublic: request.akPublic,
    akName,
    facts: request.facts,
  };
  const sessionId = randomId();
  const expiresAt = now + ctx.settings.sessionTtlMs;
  await ctx.store.createEnrollmentSession({ id: sessionId, bootstrapId, secret, context: sessionContextToJson(context), expiresAt });
  secret.fill(0); // the store holds the only copy now

  return {
    deviceId,
    ekName,
    tokenId: token.ok ? token.token.id : null,
    challenge: {
      v: 1,
      sessionId,
      // Wire form: the TPM2B structures as ActivateCredential takes them (size-prefixed).
      credentialBlob: base64(marshal(TPM2B_ID_OBJECT, credential.credentialBlob)),
      encryptedSecret: base64(marshal(TPM2B_ENCRYPTED_SECRET, credential.encryptedSecret)),
      expiresAt,
    },
  };
}

const TOKEN_MESSAGES = {
  unknown: 'the enrollment token is not known to this server',
  expired: 'the enrollment token has expired',
  'used-up': 'the enrollment token has no uses left',
  revoked: 'the enrollment token was revoked',
} as const;

export function describeProtocolError(err: ProtocolError): string {
  return `${err.reason}${err.path ? ` at ${err.path}` : ''}: ${err.message}`;
}

/** The device certificate is issued for the bootstrap key, so it must be one the fleet CA can certify. */
function checkBootstrapKey(key: KeyObject): void {
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (key.asymmetricKeyType !== 'rsa' || bits < MIN_BOOTSTRAP_RSA_BITS) {
    refuse('invalid-request', `the bootstrap TLS key must be RSA of at least ${MIN_BOOTSTRAP_RSA_BITS} bits (the fleet CA certifies RSA keys only)`);
  }
}

/** Returns the certificate (base64) to store, or undefined when the TPM has none and that is allowed. */
function checkEkCertificate(ctx: RegistrarContext, request: EnrollRequest, ek: ReceivedPublic, now: Date): string | undefined {
  if (request.ekCertificate === undefined) {
    if (ctx.settings.allowEkWithoutCertificate) return undefined;
    refuse('ek-certificate-missing', 'the request carries no EK certificate and this server requires one (enrollment.allowEkWithoutCertificate)');
  }
  const check = ctx.trust.verify(Buffer.from(request.ekCertificate, 'base64'), now);
  if (!check.ok) refuse('ek-certificate-untrusted', check.message);
  if (!certifiesKey(check.certificate.publicKey, ek.key)) {
    refuse('ek-certificate-mismatch', 'the EK certificate certifies a different key than the EK public area sent');
  }
  return request.ekCertificate;
}

/**
 * The id the device will have: the existing one for an allowed
 * re-enrollment, else the token's fixed name, else the EK-derived id.
 * `enrollDevice` checks all of this again atomically; checking here gives
 * the device its answer before it spends a TPM operation.
 */
async function chooseDeviceId(
  ctx: RegistrarContext,
  ekName: string,
  ekPublic: Uint8Array,
  token: EnrollmentTokenRecord,
): Promise<{ deviceId: string; reenroll: boolean }> {
  const known = await ctx.store.getDeviceByEkName(ekName);
  if (known !== null) {
    if (!known.reenrollAllowed) {
      refuse('already-enrolled', `this TPM is already enrolled as ${known.id}; an administrator must allow its re-enrollment`);
    }
    if (token.deviceName !== null && token.deviceName !== known.id) {
      refuse('already-enrolled', `this TPM is enrolled as ${known.id}, but the token names ${token.deviceName}`);
    }
    return { deviceId: known.id, reenroll: true };
  }
  const deviceId = token.deviceName ?? deviceIdFromEkPublic(ekPublic);
  if ((await ctx.store.getDevice(deviceId)) !== null) refuse('device-name-taken', `device id ${deviceId} belongs to another TPM`);
  return { deviceId, reenroll: false };
}

/**
 * The certificate of a completed enrollment that this client may be given
 * again: the device enrolled with this EK and AK is not revoked, and its
 * newest unrevoked, unexpired certificate certifies exactly the bootstrap key
 * this client proved in its TLS handshake. That is the same client asking
 * again because the result never reached it (a dropped link, a server
 * restart between commit and publish), not a second device: enrollment must
 * be idempotent for it, or the device would be locked out as
 * `already-enrolled` by its own lost answer. It gets no new identity: the
 * same device, the same certificate, no token use, and it must still
 * answer the MakeCredential challenge with its TPM. Anyone else presenting
 * this EK is refused as before (`already-enrolled`).
 */
export async function resumableCertificate(ctx: RegistrarContext, device: Device, akName: string, bootstrapKey: KeyObject, now: number): Promise<CertificateRecord | undefined> {
  if (device.revoked || device.akName !== akName) return undefined;
  const spki = bootstrapKey.export({ type: 'spki', format: 'der' });
  const certificates = await ctx.store.listCertificates(device.id);
  for (const c of [...certificates].sort((a, b) => b.issuedAt - a.issuedAt)) {
    if (c.revokedAt !== null || c.notAfter <= now) continue;
    const issuedFor = new X509Certificate(c.pem).publicKey.export({ type: 'spki', format: 'der' });
    return issuedFor.equals(spki) ? c : undefined;
  }
  return undefined;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
