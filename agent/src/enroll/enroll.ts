import { X509Certificate } from 'node:crypto';
import {
  computeEnrollProof,
  decodeEnrollChallenge,
  decodeEnrollResult,
  ENROLLMENT_TOKEN_PATTERN,
  encodeEnrollProof,
  encodeEnrollRequest,
  type EnrollChallenge,
  type EnrollRequest,
  ProtocolError,
  topics,
} from '@vigil/protocol';
import {
  activateCredential,
  type AkKind,
  encodePublicBlob,
  openTpm,
  TPM2B_ENCRYPTED_SECRET,
  TPM2B_ID_OBJECT,
  type Tpm,
  TpmMarshalError,
  TpmProtocolError,
  TpmResponseError,
  TpmSessionError,
  TpmTransportError,
  TpmUnmarshalError,
  TpmUriError,
  unmarshal,
} from '@vigil/tpm2-ts';
import { pino, type Logger } from 'pino';
import { IdentityError, loadOrCreateBootstrapIdentity, type BootstrapIdentity } from '../identity/index.js';
import type { EnrollmentRecord } from '../state/enrollment-record.js';
import { StateError } from '../state/errors.js';
import { saveEnrollment } from '../state/agent-state.js';
import { ensureStateDir } from '../state/files.js';
import { statePaths, type StatePaths } from '../state/paths.js';
import { EnrollmentChannel } from './channel.js';
import { EnrollmentDeadline } from './deadline.js';
import { EnrollmentError } from './errors.js';
import { deviceFacts } from './facts.js';
import { acceptIssuedCertificate } from './issued-certificate.js';
import { parseServerUrl, type ServerAddress } from './server-url.js';
import { type EnrollmentKeys, prepareEnrollmentKeys } from './tpm-keys.js';

export interface EnrollOptions {
  /** `mqtts://HOST[:PORT]` of the Vigil broker. */
  readonly server: string;
  /** The fleet CA certificate (PEM): the broker's certificate must chain to it, and so must the issued one. */
  readonly caPem: string;
  /** The enrollment token (`vgl_…`) from `vigil-server token create`. */
  readonly token: string;
  /** TPM URI for `openTpm` (`device:/dev/tpmrm0`, `swtpm:path=…`, …). */
  readonly tpmUri: string;
  /** The agent's state directory (created 0700 if missing). */
  readonly stateDir: string;
  /** Attestation key type: `rsa` (default; under the RSA 2048 EK) or `ecc` (P-256, under the P-384 or P-256 EK). */
  readonly akKind?: AkKind;
  /**
   * The whole attempt — TPM work, connection, every acknowledgement and
   * answer — must end within this (default 60 s), or it fails with
   * `timeout` naming what it was waiting for.
   */
  readonly timeoutMs?: number;
  /** Ends the attempt at once with `cancelled` (the daemon stopping). */
  readonly signal?: AbortSignal;
  readonly log?: Logger;
}

/** A completed enrollment, as recorded in the state directory. */
export interface Enrollment {
  readonly deviceId: string;
  readonly record: EnrollmentRecord;
  readonly certificatePem: string;
  readonly paths: StatePaths;
  /** True when the AK was created by this enrollment (false: the one in the state directory was reused). */
  readonly akCreated: boolean;
}

export const DEFAULT_ENROLL_TIMEOUT_MS = 60_000;

/**
 * Enrolls this device (see README.md for the flow): the bootstrap key and
 * certificate (created once, kept in the state directory), the EK and its
 * certificate from NV, the AK (kept as blobs), then over MQTT: request →
 * challenge → TPM2_ActivateCredential → proof → result. On success the
 * state directory holds `device.pem`, `device.key` (0600), `ca.pem`, the AK
 * and `enrollment.json`. Fails with an `EnrollmentError` whose `failure`
 * says what went wrong (and `reason`, the server's named refusal).
 */
export async function enroll(options: EnrollOptions): Promise<Enrollment> {
  const log = options.log ?? pino({ level: 'silent' });
  const akKind = options.akKind ?? 'rsa';
  const server = parseServerUrl(options.server);
  if (!new RegExp(ENROLLMENT_TOKEN_PATTERN).test(options.token)) {
    throw new EnrollmentError('usage', 'the token is not an enrollment token (vgl_ followed by 43 characters; from vigil-server token create)');
  }
  try {
    new X509Certificate(options.caPem);
  } catch (err) {
    throw new EnrollmentError('usage', `the CA certificate cannot be parsed: ${(err as Error).message}`, undefined, { cause: err });
  }

  const deadline = new EnrollmentDeadline(options.timeoutMs ?? DEFAULT_ENROLL_TIMEOUT_MS, options.signal);
  try {
    return await attempt(options, akKind, server, deadline, log);
  } finally {
    deadline.dispose();
  }
}

async function attempt(options: EnrollOptions, akKind: AkKind, server: ServerAddress, deadline: EnrollmentDeadline, log: Logger): Promise<Enrollment> {
  const identity = await deadline.race(
    inState(async () => {
      await ensureStateDir(options.stateDir);
      return loadOrCreateBootstrapIdentity(options.stateDir);
    }),
    'the bootstrap key',
  );
  const opening = inTpm(() => openTpm(options.tpmUri));
  // Opened after the deadline: still closed, so that no TPM connection is left behind.
  opening.then(
    (t) => {
      if (deadline.over) void t.close().catch(() => undefined);
    },
    () => undefined,
  );
  const tpm = await deadline.race(opening, 'the TPM connection');
  let keys: EnrollmentKeys | undefined;
  let channel: EnrollmentChannel | undefined;
  try {
    keys = await deadline.race(inTpm(() => prepareEnrollmentKeys(tpm, akKind, options.stateDir, log)), 'the EK and AK from the TPM');
    const request = await deadline.race(buildRequest(tpm, keys, options.token), 'the device facts from the TPM');
    log.info({ bootstrapId: identity.bootstrapId, ekKind: keys.ekKind, akKind, akCreated: keys.akCreated, ekCertificate: keys.ekCertificate !== undefined }, 'enrolling');

    const connecting = EnrollmentChannel.open(
      server,
      options.caPem,
      { clientId: identity.bootstrapId, certificatePem: identity.certificatePem, keyPem: identity.privateKeyPem },
      deadline.remainingMs(),
      log,
    );
    connecting.then(
      (c) => {
        if (deadline.over) void c.close();
      },
      () => undefined,
    );
    channel = await deadline.race(connecting, `the broker's acceptance (TLS handshake and CONNACK) at mqtts://${server.host}:${server.port}`);
    const challengeTopic = topics.enrollChallenge(identity.bootstrapId);
    const resultTopic = topics.enrollResult(identity.bootstrapId);
    await deadline.race(channel.subscribe([challengeTopic, resultTopic]), "the broker's SUBACK for the enroll topics");
    await deadline.race(channel.publish(topics.enrollRequest(identity.bootstrapId), encode(() => encodeEnrollRequest(request)), deadline.at), "the broker's PUBACK for the enrollment request");

    const first = await deadline.race(channel.next([challengeTopic, resultTopic], deadline.at, 'challenge'), 'the challenge from the server (is the registrar running?)');
    if (first.topic === resultTopic) {
      refusedOrUnexpected(first.payload, 'a certificate before the challenge was answered');
    }
    const challenge = decodeEnrollChallenge(first.payload);
    if (challenge instanceof ProtocolError) throw new EnrollmentError('protocol', `the server sent a malformed challenge: ${challenge.message}`);
    const proof = await deadline.race(answer(tpm, keys, challenge, identity), 'TPM2_ActivateCredential');
    log.info({ sessionId: challenge.sessionId }, 'credential activated; proof sent');
    await deadline.race(
      channel.publish(topics.enrollProof(identity.bootstrapId), encode(() => encodeEnrollProof({ v: 1, sessionId: challenge.sessionId, proof })), deadline.at),
      "the broker's PUBACK for the proof",
    );

    const second = await deadline.race(channel.next([resultTopic], deadline.at, 'result'), 'the result from the server');
    const result = decodeEnrollResult(second.payload);
    if (result instanceof ProtocolError) throw new EnrollmentError('protocol', `the server sent a malformed result: ${result.message}`);
    if (!result.ok) throw new EnrollmentError('refused', `the server refused the enrollment: ${result.reason}: ${result.message}`, result.reason);

    const accepted = acceptIssuedCertificate(result.certificate, identity.privateKeyPem, options.caPem, result.deviceId, Date.now());
    const record: EnrollmentRecord = {
      v: 1,
      deviceId: result.deviceId,
      server: options.server,
      bootstrapId: identity.bootstrapId,
      enrolledAt: Date.now(),
      certificate: { serial: accepted.serial, notAfter: accepted.notAfter },
      tpm: { ekKind: keys.ekKind, ekName: hex(keys.ek.name), akKind, akName: hex(keys.akBlobs.name) },
    };
    await inState(() => saveEnrollment(options.stateDir, { record, certificatePem: result.certificate, caPem: options.caPem }));
    log.info({ deviceId: result.deviceId, serial: accepted.serial, notAfter: new Date(accepted.notAfter).toISOString() }, 'enrolled');
    return { deviceId: result.deviceId, record, certificatePem: result.certificate, paths: statePaths(options.stateDir), akCreated: keys.akCreated };
  } finally {
    await deadline.settle(channel?.close() ?? Promise.resolve());
    // Past the deadline the TPM may be the thing that hangs, so the flush gets a grace period, not for ever.
    if (keys !== undefined) await deadline.settle(keys.release());
    await deadline.settle(tpm.close());
  }
}

async function buildRequest(tpm: Tpm, keys: EnrollmentKeys, token: string): Promise<EnrollRequest> {
  const facts = await inTpm(() => deviceFacts(tpm));
  return {
    v: 1,
    token,
    ekPublic: base64(encodePublicBlob(keys.ek.public)),
    ...(keys.ekCertificate !== undefined ? { ekCertificate: base64(keys.ekCertificate) } : {}),
    akPublic: base64(encodePublicBlob(keys.akBlobs.public)),
    facts,
  };
}

/** TPM2_ActivateCredential on the challenge, then the proof (the secret itself never leaves this function). */
async function answer(tpm: Tpm, keys: EnrollmentKeys, challenge: EnrollChallenge, identity: BootstrapIdentity): Promise<string> {
  let credentialBlob: Uint8Array;
  let encryptedSecret: Uint8Array;
  try {
    credentialBlob = unmarshal(TPM2B_ID_OBJECT, Buffer.from(challenge.credentialBlob, 'base64'));
    encryptedSecret = unmarshal(TPM2B_ENCRYPTED_SECRET, Buffer.from(challenge.encryptedSecret, 'base64'));
  } catch (err) {
    throw new EnrollmentError('protocol', `the challenge does not hold TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET: ${(err as Error).message}`, undefined, { cause: err });
  }
  const secret = await inTpm(() => activateCredential(tpm, keys.ak, keys.ek, { credentialBlob, secret: encryptedSecret }));
  try {
    return computeEnrollProof(secret, identity.bootstrapId, challenge.sessionId);
  } finally {
    secret.fill(0);
  }
}

/** A result where a challenge was expected: the server's refusal, or a protocol violation. */
function refusedOrUnexpected(payload: Uint8Array, what: string): never {
  const result = decodeEnrollResult(payload);
  if (result instanceof ProtocolError) throw new EnrollmentError('protocol', `the server sent a malformed result: ${result.message}`);
  if (!result.ok) throw new EnrollmentError('refused', `the server refused the enrollment: ${result.reason}: ${result.message}`, result.reason);
  throw new EnrollmentError('protocol', `the server sent ${what}`);
}

function encode(fn: () => Uint8Array): Uint8Array {
  try {
    return fn();
  } catch (err) {
    throw new EnrollmentError('protocol', `cannot encode the enrollment message: ${(err as Error).message}`, undefined, { cause: err });
  }
}

const TPM_ERRORS = [TpmResponseError, TpmTransportError, TpmProtocolError, TpmSessionError, TpmUnmarshalError, TpmMarshalError];

/** Runs a TPM step; its failures become `tpm` (or `usage` for a bad URI). */
async function inTpm<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof EnrollmentError) throw err;
    if (err instanceof StateError) throw new EnrollmentError('state', err.message, undefined, { cause: err });
    if (err instanceof TpmUriError) throw new EnrollmentError('usage', err.message, undefined, { cause: err });
    if (TPM_ERRORS.some((E) => err instanceof E)) throw new EnrollmentError('tpm', `TPM: ${(err as Error).message}`, undefined, { cause: err });
    throw err;
  }
}

/** Runs a state-directory step; its failures become `state`. */
async function inState<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof EnrollmentError) throw err;
    if (err instanceof StateError || err instanceof IdentityError) throw new EnrollmentError('state', err.message, undefined, { cause: err });
    const errno = err as NodeJS.ErrnoException;
    if (typeof errno?.code === 'string' && typeof errno.syscall === 'string') throw new EnrollmentError('state', errno.message, undefined, { cause: err });
    throw err;
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
