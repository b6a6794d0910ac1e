/**
 * Enrollment of a simulated device through the server's real registrar,
 * over the same messages the agent sends (`agent/src/enroll/enroll.ts`):
 * a bootstrap client (self-signed certificate for the device's TLS key,
 * named by the SHA-256 of that key) publishes its token, EK public area and
 * EK certificate (from a `SimManufacturer`), AK public area and facts; the
 * registrar answers with MakeCredential for the AK's Name under the EK; the
 * software TPM activates the credential (`credential-activation.ts`) and
 * proves it; the registrar issues the device certificate for the TLS key.
 * Everything the registrar checks, it checks for real: token, EK
 * certificate chain, EK and AK attributes, the proof.
 */
import { X509Certificate } from 'node:crypto';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { createBootstrapIdentity, type BootstrapIdentity } from '@vigil/agent';
import {
  computeEnrollProof,
  decodeEnrollChallenge,
  decodeEnrollResult,
  encodeEnrollProof,
  encodeEnrollRequest,
  ProtocolError,
  topics,
  type EnrollResult,
} from '@vigil/protocol';
import { TPM2B_ENCRYPTED_SECRET, TPM2B_ID_OBJECT, unmarshal } from '@vigil/tpm2-ts';
import { activateCredential } from './credential-activation.js';
import type { SimIdentity } from './identity.js';
import type { SimManufacturer } from './manufacturer.js';
import { SoftwareTpm, type SimAkKind } from './software-tpm.js';

export class SimEnrollmentError extends Error {
  constructor(
    message: string,
    /** The registrar's named refusal, when it refused. */
    readonly reason?: string,
  ) {
    super(message);
    this.name = 'SimEnrollmentError';
  }
}

/**
 * A simulated device as it leaves the factory and first starts: its TPM,
 * the EK certificate the manufacturer wrote to it, and the agent's
 * bootstrap identity (self-signed certificate for its TLS key).
 */
export interface SimEnrollee {
  readonly tpm: SoftwareTpm;
  readonly ekCertificate: Uint8Array;
  readonly bootstrap: BootstrapIdentity;
}

/** Makes a device ready to enroll: a new software TPM (unless given), its EK certificate, its bootstrap identity for `keyPem`. */
export async function prepareEnrollee(options: { keyPem: string; manufacturer: SimManufacturer; tpm?: SoftwareTpm; akKind?: SimAkKind }): Promise<SimEnrollee> {
  const tpm = options.tpm ?? new SoftwareTpm({ akKind: options.akKind ?? 'ecc' });
  return { tpm, ekCertificate: await options.manufacturer.ekCertificate(tpm), bootstrap: await createBootstrapIdentity({ privateKeyPem: options.keyPem }) };
}

export interface RegistrarEnrollmentOptions {
  readonly port: number;
  readonly caPem: string;
  /** Default 127.0.0.1, with TLS server name `localhost` (the name the broker certificate carries). */
  readonly host?: string;
  readonly token: string;
  readonly enrollee: SimEnrollee;
  /** Default 30 s. */
  readonly timeoutMs?: number;
}

/** Enrolls one simulated device; resolves with its identity (device id and certificate from the registrar). */
export async function enrollThroughRegistrar(options: RegistrarEnrollmentOptions): Promise<SimIdentity> {
  const { tpm, bootstrap, ekCertificate } = options.enrollee;
  const id = bootstrap.bootstrapId;
  const client = connect({
    protocol: 'mqtts',
    // An address, not `localhost`: where ::1 does not answer, each connection would wait out Node's 250 ms happy-eyeballs attempt.
    host: options.host ?? '127.0.0.1',
    servername: 'localhost',
    port: options.port,
    protocolVersion: 4,
    clientId: id,
    ca: options.caPem,
    cert: bootstrap.certificatePem,
    key: bootstrap.privateKeyPem,
    rejectUnauthorized: true,
    reconnectPeriod: 0,
    connectTimeout: 30_000,
    clean: true,
  } as IClientOptions);
  const inbox: Array<{ topic: string; payload: Buffer }> = [];
  let wake: (() => void) | undefined;
  client.on('message', (topic, payload) => {
    inbox.push({ topic, payload });
    wake?.();
  });
  client.on('error', () => undefined);
  // Every step ends by the deadline or when the connection closes: a subscribe or publish on a connection
  // the registrar (or a loaded machine) dropped would otherwise wait for a reconnect that never comes.
  let stop: (err: Error) => void = () => undefined;
  const stopped = new Promise<never>((_, reject) => {
    stop = reject;
  });
  stopped.catch(() => undefined);
  const timer = setTimeout(() => stop(new SimEnrollmentError('no enrollment result from the registrar in time')), options.timeoutMs ?? 30_000);
  client.once('close', () => stop(new SimEnrollmentError('the registrar closed the bootstrap connection before its result')));
  const bounded = <T>(step: Promise<T>): Promise<T> => Promise.race([step, stopped]);
  // The next message from the registrar; the deadline and a closed connection end the wait (`bounded`).
  const next = async (): Promise<{ topic: string; payload: Buffer }> => {
    for (;;) {
      const m = inbox.shift();
      if (m !== undefined) return m;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  };
  const refused = (payload: Buffer): never => {
    const r = decodeEnrollResult(payload);
    if (r instanceof ProtocolError) throw new SimEnrollmentError(`malformed result: ${r.message}`);
    if (!r.ok) throw new SimEnrollmentError(`the registrar refused: ${r.reason}: ${r.message}`, r.reason);
    throw new SimEnrollmentError('a certificate before the challenge was answered');
  };
  try {
    await bounded(new Promise<void>((resolve) => client.once('connect', () => resolve())));
    await bounded(client.subscribeAsync([topics.enrollChallenge(id), topics.enrollResult(id)], { qos: 1 }));
    const request = encodeEnrollRequest({
      v: 1,
      token: options.token,
      ekPublic: Buffer.from(tpm.ekPublicBytes).toString('base64'),
      ekCertificate: Buffer.from(ekCertificate).toString('base64'),
      akPublic: Buffer.from(tpm.akPublicBytes).toString('base64'),
      facts: { hostname: `sim-${id.slice(0, 12)}`, os: 'simulated', arch: process.arch, agentVersion: 'sim', tpm: { manufacturer: 'SIM', firmwareVersion: '1' } },
    });
    await bounded(client.publishAsync(topics.enrollRequest(id), Buffer.from(request), { qos: 1 }));
    const first = await bounded(next());
    if (first.topic !== topics.enrollChallenge(id)) refused(first.payload);
    const challenge = decodeEnrollChallenge(first.payload);
    if (challenge instanceof ProtocolError) throw new SimEnrollmentError(`malformed challenge: ${challenge.message}`);
    const secret = activateCredential(
      tpm,
      unmarshal(TPM2B_ID_OBJECT, Buffer.from(challenge.credentialBlob, 'base64')),
      unmarshal(TPM2B_ENCRYPTED_SECRET, Buffer.from(challenge.encryptedSecret, 'base64')),
    );
    const proof = computeEnrollProof(secret, id, challenge.sessionId);
    secret.fill(0);
    await bounded(client.publishAsync(topics.enrollProof(id), Buffer.from(encodeEnrollProof({ v: 1, sessionId: challenge.sessionId, proof })), { qos: 1 }));
    const second = await bounded(next());
    const result: EnrollResult | ProtocolError = decodeEnrollResult(second.payload);
    if (result instanceof ProtocolError) throw new SimEnrollmentError(`malformed result: ${result.message}`);
    if (!result.ok) throw new SimEnrollmentError(`the registrar refused: ${result.reason}: ${result.message}`, result.reason);
    const certificate = new X509Certificate(result.certificate);
    return { deviceId: result.deviceId, certPem: result.certificate, keyPem: bootstrap.privateKeyPem, serial: certificate.serialNumber.toLowerCase(), tpm };
  } finally {
    clearTimeout(timer);
    await client.endAsync(true).catch(() => undefined);
  }
}
