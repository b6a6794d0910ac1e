/**
 * Enrollment through the real server (started in-process from a data
 * directory made by the built `vigil-server init`), the real mutual-TLS
 * broker and a real swtpm: the agent's `enroll()` end to end, and every
 * refusal with its named reason, sent by the agent or by a hand-driven
 * bootstrap client that crafts the request the case needs.
 */
import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { cp, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeEnrollProof, encodeEnrollRequest, type EnrollRequest, topics } from '@vigil/protocol';
import { AK_TEMPLATE_RSA, createEk, createKey, encodePublicBlob, flushKey, type Tpm } from '@vigil/tpm2-ts';
import { startVigilServer, type RunningServer } from '../server/src/app/index.js';
import { dataDir, type DataDir } from '../server/src/datadir.js';
import { readCrlFile } from '../server/src/pki/index.js';
import { generateEnrollmentToken, hashEnrollmentToken, type Store } from '../server/src/store/index.js';
import { enroll, EnrollmentError, type EnrollOptions } from '../agent/src/enroll/index.js';
import { loadEnrolledAk, loadEnrolledIdentity, readEnrollment, StateError, statePaths } from '../agent/src/state/index.js';
import { closed, connectOk, LogCapture, startTestBroker, subscribeResult } from './harness/broker.js';
import { BootstrapClient, issueEkCertificate, makeTestCa, readTpmEk, type TpmEk } from './harness/enrollment.js';
import { makeFleetCa, makeTempDir } from './harness/pki.js';
import { startSwtpm, type SwtpmInstance } from './harness/swtpm.js';

const run = promisify(execFile);
const SERVER_CLI = join(import.meta.dirname, '..', 'server', 'dist', 'cli', 'vigil-server.cjs');

let tmp: { path: string; cleanup: () => Promise<void> };
let paths: DataDir;
let swtpm: SwtpmInstance;
let server: RunningServer;
let store: Store;
let logs: LogCapture;
let rsaEk: TpmEk;
let p384Ek: TpmEk;

async function newToken(options: { uses?: number; expiresAt?: number; deviceName?: string } = {}): Promise<string> {
  const token = generateEnrollmentToken();
  await store.createToken({
    hash: hashEnrollmentToken(token),
    maxUses: options.uses ?? 1,
    expiresAt: options.expiresAt ?? Date.now() + 3_600_000,
    deviceName: options.deviceName ?? null,
    actor: 'test',
  });
  return token;
}

function enrollOptions(token: string, stateDir: string, extra: Partial<EnrollOptions> = {}): EnrollOptions {
  return { server: `mqtts://localhost:${server.port}`, caPem: server.context.ca.certificatePem, token, tpmUri: swtpm.uri, stateDir, ...extra };
}

async function withTpm<T>(fn: (tpm: Tpm) => Promise<T>): Promise<T> {
  const tpm = swtpm.connect();
  try {
    return await fn(tpm);
  } finally {
    await tpm.close();
  }
}

/** The refusal `enroll()` ends with: its failure kind and the server's reason. */
async function refusalOf(promise: Promise<unknown>): Promise<{ failure: string; reason: string | undefined }> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof EnrollmentError) return { failure: err.failure, reason: err.reason };
    throw err;
  }
  throw new Error('expected the enrollment to fail');
}

function request(fields: Partial<EnrollRequest> & { token: string }): Uint8Array {
  return encodeEnrollRequest({
    v: 1,
    ekPublic: Buffer.from(rsaEk.tpm2bPublic).toString('base64'),
    ekCertificate: Buffer.from(rsaEk.certificate!).toString('base64'),
    akPublic: Buffer.from(rsaEk.tpm2bPublic).toString('base64'),
    facts: { hostname: 'crafted', os: 'test', arch: 'x64', agentVersion: '0', tpm: { manufacturer: 'IBM', firmwareVersion: '1' } },
    ...fields,
  });
}

async function stateDir(name: string): Promise<string> {
  return join(tmp.path, 'agents', name);
}

beforeAll(async () => {
  tmp = await makeTempDir('vigil-enroll-flow-');
  paths = dataDir(join(tmp.path, 'data'));
  swtpm = await startSwtpm();
  await run(process.execPath, [SERVER_CLI, 'init', '--data', paths.root, '--san', 'localhost'], { env: { ...process.env, VIGIL_PKI_CA_KEY_BITS: '2048' } });
  // The manufacturer CA bundle: swtpm's root and the intermediate that signs its EK certificates.
  await writeFile(join(paths.root, 'tpm-manufacturers.pem'), swtpm.ekCaCert + swtpm.ekIssuerCert);
  logs = new LogCapture();
  server = await startVigilServer({
    paths,
    overrides: [
      { path: 'listen.host', value: '127.0.0.1', flag: 'test' },
      { path: 'listen.port', value: 0, flag: 'test' },
      { path: 'enrollment.manufacturerCaFiles', value: ['tpm-manufacturers.pem'], flag: 'test' },
    ],
    logger: logs.logger,
  });
  store = server.context.store;
  [rsaEk, p384Ek] = await withTpm(async (tpm) => [await readTpmEk(tpm, 'rsa'), await readTpmEk(tpm, 'ecc-p384')]);
  expect(rsaEk.certificate).toBeDefined();
  expect(p384Ek.certificate).toBeDefined();
});

afterAll(async () => {
  await server?.stop();
  await swtpm?.stop();
  await tmp?.cleanup();
});

describe('enrollment over the real broker with a swtpm', () => {
  let deviceId: string;
  let firstSerial: string;

  it('enrolls a device end to end and leaves its key (0600), certificate, CA and AK in the state directory', async () => {
    const token = await newToken();
    const dir = await stateDir('first');
    const enrolled = await enroll(enrollOptions(token, dir));
    deviceId = enrolled.deviceId;
    expect(deviceId).toMatch(/^ek-[0-9a-f]{40}$/);

    const device = await store.getDevice(deviceId);
    expect(device).not.toBeNull();
    expect(Buffer.from(device!.ekPublic)).toEqual(Buffer.from(rsaEk.tpm2bPublic));
    const identity = await loadEnrolledIdentity(dir);
    expect(identity.deviceId).toBe(deviceId);
    expect(((await stat(enrolled.paths.key)).mode & 0o777).toString(8)).toBe('600');
    expect(((await stat(enrolled.paths.akPrivate)).mode & 0o777).toString(8)).toBe('600');
    // The certificate is for the bootstrap key and issued by the fleet CA; the store has its serial.
    const cert = new X509Certificate(identity.certificatePem);
    expect(cert.verify(server.context.ca.certificate.publicKey)).toBe(true);
    firstSerial = identity.record.certificate.serial;
    expect((await store.getCertificate(firstSerial))?.deviceId).toBe(deviceId);
    // The AK the server recorded is the one the state directory loads.
    const ak = await withTpm(async (tpm) => {
      const loaded = await loadEnrolledAk(tpm, dir, identity.record);
      await loaded.release();
      return loaded.blobs;
    });
    expect(Buffer.from(encodePublicBlob(ak.public))).toEqual(Buffer.from(device!.akPublic));
    expect((await store.listTokens()).find((t) => t.uses === 1)).toBeDefined();

    // It connects as the device with the issued certificate and may use its own topics only.
    const client = await connectOk(server.port, server.context.ca.certificatePem, { certPem: identity.certificatePem, keyPem: identity.keyPem }, deviceId);
    expect(await subscribeResult(client, topics.deviceResult(deviceId))).toBe(1);
    expect(await subscribeResult(client, topics.deviceResult('someone-else'))).toBe(128);
    client.end(true);
  });

  it('refuses a token that is used up', async () => {
    const token = await newToken();
    await enroll(enrollOptions(token, await stateDir('ecc'), { akKind: 'ecc' })); // uses it (another EK: the P-384 one)
    expect(await refusalOf(enroll(enrollOptions(token, await stateDir('used-up'))))).toEqual({ failure: 'refused', reason: 'token-used-up' });
  });

  it('enrolled the ECC AK under the P-384 EK, whose certificate swtpm provisions, as its own device', async () => {
    const record = await readEnrollment(await stateDir('ecc'));
    expect(record?.tpm).toMatchObject({ ekKind: 'ecc-p384', akKind: 'ecc' });
    expect(record?.deviceId).not.toBe(deviceId);
    const device = await store.getDevice(record!.deviceId);
    expect(Buffer.from(device!.ekCertificate!)).toEqual(Buffer.from(p384Ek.certificate!));
  });

  it('refuses an expired token, an unknown one and a revoked one', async () => {
    const client = await BootstrapClient.connect(server.port, server.context.ca.certificatePem);
    await client.sendRequest(request({ token: await newToken({ expiresAt: Date.now() - 1000 }) }));
    expect(await client.refusal()).toBe('token-expired');
    await client.sendRequest(request({ token: generateEnrollmentToken() }));
    expect(await client.refusal()).toBe('token-unknown');
    const revoked = await newToken();
    const id = (await store.listTokens()).at(-1)!.id;
    await store.revokeToken(id, 'test');
    await client.sendRequest(request({ token: revoked }));
    expect(await client.refusal()).toBe('token-revoked');
    client.close();
  });

  it('refuses a known EK (a new bootstrap key with a fresh token) until an administrator allows its re-enrollment', async () => {
    const dir = await stateDir('second-key');
    const token = await newToken();
    expect(await refusalOf(enroll(enrollOptions(token, dir)))).toEqual({ failure: 'refused', reason: 'already-enrolled' });

    // The refusal consumed nothing: the same one-use token enrolls once an administrator allows it.
    expect(await store.allowReenrollment(deviceId, 'test')).toBe(true);
    const again = await enroll(enrollOptions(token, dir));
    expect(again.deviceId).toBe(deviceId);
    // The first certificate is revoked in the store and listed in the CRL.
    expect((await store.getCertificate(firstSerial))?.revokedAt).not.toBeNull();
    const crl = await readCrlFile(paths.crl, server.context.ca);
    expect(crl?.revokedSerials.has(firstSerial)).toBe(true);
    // ...and refused by the broker, while the new one connects.
    const old = await loadEnrolledIdentity(await stateDir('first'));
    const refused = await connectOk(server.port, server.context.ca.certificatePem, { certPem: old.certificatePem, keyPem: old.keyPem }, deviceId).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(Error);
    const renewed = await loadEnrolledIdentity(dir);
    (await connectOk(server.port, server.context.ca.certificatePem, { certPem: renewed.certificatePem, keyPem: renewed.keyPem }, deviceId)).end(true);
  });

  it('refuses an EK certificate from an unknown CA (a second private CA)', async () => {
    const foreign = await makeTestCa('Another TPM Vendor Root');
    const client = await BootstrapClient.connect(server.port, server.context.ca.certificatePem);
    const ekCertificate = Buffer.from(await issueEkCertificate(foreign, rsaEk.key)).toString('base64');
    await client.sendRequest(request({ token: await newToken(), ekCertificate }));
    expect(await client.refusal()).toBe('ek-certificate-untrusted');
    client.close();
  });

  it('refuses an EK certificate that does not match the EK public area', async () => {
    const client = await BootstrapClient.connect(server.port, server.context.ca.certificatePem);
    // Genuine and trusted, but it certifies the P-384 EK, not the RSA EK sent.
    await client.sendRequest(request({ token: await newToken(), ekCertificate: Buffer.from(p384Ek.certificate!).toString('base64') }));
    expect(await client.refusal()).toBe('ek-certificate-mismatch');
    client.close();
  });

  it('refuses a request without an EK certificate (the default policy)', async () => {
    const client = await BootstrapClient.connect(server.port, server.context.ca.certificatePem);
    const { ekCertificate: _omitted, ...withoutCertificate } = JSON.parse(Buffer.from(request({ token: await newToken() })).toString()) as EnrollRequest;
    await client.sendRequest(encodeEnrollRequest(withoutCertificate));
    expect(await client.refusal()).toBe('ek-certificate-missing');
    client.close();
  });

  it('refuses an AK without the restricted attribute', async () => {
    const unrestricted = await withTpm(async (tpm) => {
      const ek = await createEk(tpm, 'rsa');
      try {
        const template = { ...AK_TEMPLATE_RSA, objectAttributes: { ...AK_TEMPLATE_RSA.objectAttributes, restricted: false } };
        return encodePublicBlob((await createKey(tpm, ek, template)).public);
      } finally {
        await flushKey(tpm, ek);
      }
    });
    const client = await BootstrapClient.connect(server.port, server.context.ca.certificatePem);
    await client.sendRequest(request({ token: await newToken(), akPublic: Buffer.from(unrestricted).toString('base64') }));
    expect(await client.refusal()).toBe('ak-attributes');
    client.close();
  });

  it('refuses a wrong activation proof, then the same session again', async () => {
    const akPublic = await withTpm(async (tpm) => {
      const ek = await createEk(tpm, 'rsa');
      try {
        return encodePublicBlob((await createKey(tpm, ek, AK_TEMPLATE_RSA)).public);
      } finally {
        await flushKey(tpm, ek);
      }
    });
    // A fresh TPM identity is needed for the request to reach the challenge: allow the known EK once more.
    await store.allowReenrollment(deviceId, 'test');
    const client = await BootstrapClient.connect(server.port, server.context.ca.certificatePem);
    await client.sendRequest(request({ token: await newToken(), akPublic: Buffer.from(akPublic).toString('base64') }));
    const challenge = await client.next();
    expect(challenge.kind).toBe('challenge');
    const sessionId = challenge.kind === 'challenge' ? challenge.challenge.sessionId : '';
    const guess = encodeEnrollProof({ v: 1, sessionId, proof: randomBytes(32).toString('hex') });
    await client.sendProof(guess);
    expect(await client.refusal()).toBe('proof-invalid');
    await client.sendProof(guess);
    expect(await client.refusal()).toBe('session-used');
    client.close();
  });

  it('answers malformed requests with invalid-request and keeps serving the next client', async () => {
    const client = await BootstrapClient.connect(server.port, server.context.ca.certificatePem);
    const malformed = ['not json', '{"v":1}', `${'['.repeat(40)}${']'.repeat(40)}`, '{"__proto__":{"x":1}}', JSON.stringify({ ...JSON.parse(Buffer.from(request({ token: await newToken() })).toString()), ekPublic: 'AAAA' })];
    const reasons: string[] = [];
    for (const payload of malformed) {
      await client.sendRequest(payload);
      reasons.push(await client.refusal());
    }
    expect(reasons).toEqual(['invalid-request', 'invalid-request', 'invalid-request', 'invalid-request', 'ek-invalid']);
    await client.sendProof('{"v":1,"sessionId":"x"}');
    expect(await client.refusal()).toBe('invalid-request');
    client.close();

    // The registrar still serves the next client: a full enrollment (re-enrollment, still allowed from the last test).
    const next = await enroll(enrollOptions(await newToken(), await stateDir('after-malformed')));
    expect(next.deviceId).toBe(deviceId);
  });

  it('never lets a bootstrap client near device topics', async () => {
    const client = await BootstrapClient.connect(server.port, server.context.ca.certificatePem);
    expect(await subscribeResult(client.client, topics.deviceResult(deviceId))).toBe(128);
    expect(await subscribeResult(client.client, topics.deviceChallenge(deviceId))).toBe(128);
    const gone = closed(client.client);
    client.client.publish(topics.deviceEvidence(deviceId), '{}', { qos: 1 });
    await gone;
    expect(logs.withReason('publish-denied').some((l) => l.bootstrapId === client.bootstrapId)).toBe(true);
  });

  it('records every refusal in the audit log with the bootstrap id and reason, and the chain verifies', async () => {
    const refusals = (await store.listAudit({ limit: 10_000 })).filter((e) => e.action === 'enroll.reject');
    const reasons = new Set(refusals.map((e) => e.details['reason']));
    for (const reason of ['token-used-up', 'token-expired', 'token-unknown', 'token-revoked', 'already-enrolled', 'ek-certificate-untrusted', 'ek-certificate-mismatch', 'ek-certificate-missing', 'ak-attributes', 'proof-invalid', 'session-used', 'invalid-request', 'ek-invalid']) {
      expect(reasons, reason).toContain(reason);
    }
    expect(refusals.every((e) => /^bootstrap:[0-9a-f]{64}$/.test(e.subject))).toBe(true);
    expect((await store.verifyAuditChain()).ok).toBe(true);
    // The same outcomes are counted for Prometheus.
    const metrics = await server.context.metrics.registry.getSingleMetricAsString('vigil_enrollments_total');
    for (const outcome of ['challenged', 'enrolled', 'reenrolled', 'proof-invalid', 'already-enrolled']) expect(metrics).toMatch(new RegExp(`outcome="${outcome}"} [1-9]`));
    const { stdout } = await run(process.execPath, [SERVER_CLI, 'audit', 'verify', '--data', paths.root]);
    expect(stdout).toContain('audit chain intact');
  });

  it('times out with a clear failure when the broker answers nothing (no registrar)', async () => {
    const ca = await makeFleetCa();
    const silent = await startTestBroker(ca);
    try {
      const options = { ...enrollOptions(await newToken(), await stateDir('first')), server: `mqtts://localhost:${silent.port}`, caPem: ca.certificatePem, timeoutMs: 1500 };
      expect(await refusalOf(enroll(options))).toEqual({ failure: 'timeout', reason: undefined });
    } finally {
      await silent.broker.close();
    }
  });

  it('notices a TPM that no longer holds the enrolled EK or AK', async () => {
    const dir = await stateDir('moved');
    await cp(await stateDir('first'), dir, { recursive: true });
    const record = (await readEnrollment(dir))!;
    const changedEk = { ...record, tpm: { ...record.tpm, ekName: '000b' + '00'.repeat(32) } };
    const failure = async (r: typeof record) =>
      withTpm((tpm) => loadEnrolledAk(tpm, dir, r).then(async (k) => k.release(), (e: unknown) => e));
    expect(await failure(changedEk)).toMatchObject({ name: 'StateError', code: 'tpm-changed' });
    // AK blobs this TPM refuses to load (as after TPM2_Clear or on another TPM): a flipped bit in the wrapped private part.
    const priv = await readFile(statePaths(dir).akPrivate);
    priv[priv.length - 1]! ^= 1;
    await writeFile(statePaths(dir).akPrivate, priv, { mode: 0o600 });
    const refused = await failure(record);
    expect(refused).toBeInstanceOf(StateError);
    expect(refused).toMatchObject({ code: 'tpm-changed' });
  });
});
