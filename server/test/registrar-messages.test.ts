/**
 * The registrar's message handling in-process, with a real SQLite store, a
 * real fleet CA and software EK/AK keys (no TPM needed to reach the
 * challenge): sessions (one open per client, bound to it, expiring), tokens
 * that fix a name, identities and topics it must ignore, bounded work, a
 * broken store, and arbitrary payloads, each answered by exactly one result
 * with a named reason and never a crash.
 */
import fc from 'fast-check';
import { type KeyObject, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootstrapIdFromSpki,
  decodeEnrollChallenge,
  decodeEnrollResult,
  ENROLL_REJECTIONS,
  encodeEnrollProof,
  encodeEnrollRequest,
  type EnrollRequest,
  ProtocolError,
  topics,
} from '@vigil/protocol';
import { AK_TEMPLATE_RSA, EK_TEMPLATE_RSA_2048, encodePublicBlob, generateKeyPair, TPM2B_ENCRYPTED_SECRET, TPM2B_ID_OBJECT, type TpmtPublic, unmarshal } from '@vigil/tpm2-ts';
import { createLogger } from '../src/log.js';
import { FleetCa } from '../src/pki/index.js';
import { EkTrustStore } from '../src/registrar/ek-trust.js';
import { Registrar, type RegistrarOptions } from '../src/registrar/registrar.js';
import { sessionContextFromJson } from '../src/registrar/session-context.js';
import { generateEnrollmentToken, hashEnrollmentToken, openSqliteStore, type Store } from '../src/store/index.js';
import { issueEkCertificate, makeTestCa } from '../../test/harness/enrollment.js';

interface Published {
  readonly topic: string;
  readonly payload: Uint8Array;
}

interface Client {
  readonly bootstrapId: string;
  readonly publicKey: KeyObject;
}

let dir: string;
let store: Store;
let ca: FleetCa;
let trust: EkTrustStore;
let ekPublic: string;
let ekCertificate: string;
let akPublic: string;
const rsaKey = generateKeyPair({ type: 'rsa', modulusLength: 2048 });

function rsaPublicArea(template: TpmtPublic, key: KeyObject): string {
  const n = Buffer.from(key.export({ format: 'jwk' }).n!, 'base64url');
  return Buffer.from(encodePublicBlob({ ...template, unique: new Uint8Array(n) })).toString('base64');
}

// Keys from generateKeyPair (tpm2-ts), never straight from node's generation: both helpers export them, which can deadlock in Node 20.
function client(publicKey: KeyObject = generateKeyPair({ type: 'rsa', modulusLength: 2048 }).publicKey): Client {
  return { bootstrapId: bootstrapIdFromSpki(publicKey.export({ type: 'spki', format: 'der' })), publicKey };
}

async function token(options: { deviceName?: string; uses?: number } = {}): Promise<string> {
  const value = generateEnrollmentToken();
  await store.createToken({ hash: hashEnrollmentToken(value), maxUses: options.uses ?? 1, expiresAt: Date.now() + 3_600_000, deviceName: options.deviceName ?? null, actor: 'test' });
  return value;
}

function request(t: string, fields: Partial<EnrollRequest> = {}): Uint8Array {
  return encodeEnrollRequest({
    v: 1,
    token: t,
    ekPublic,
    ekCertificate,
    akPublic,
    facts: { hostname: 'h', os: 'o', arch: 'x64', agentVersion: '0', tpm: { manufacturer: 'IBM', firmwareVersion: '1' } },
    ...fields,
  });
}

/** A registrar whose answers are collected; `send` hands it one message and waits for the answers. */
function harness(options: Partial<RegistrarOptions> = {}) {
  const published: Published[] = [];
  const registrar = new Registrar({
    store,
    ca,
    trust,
    settings: { allowEkWithoutCertificate: false, sessionTtlMs: 60_000, certificateValidityMs: 3_600_000 },
    publish: async (topic, payload) => {
      published.push({ topic, payload });
    },
    log: createLogger({ level: 'silent' }),
    ...options,
  });
  const handle = (c: Client, stage: 'request' | 'proof', payload: Uint8Array | string) =>
    registrar.handle({
      identity: { kind: 'bootstrap', bootstrapId: c.bootstrapId, publicKey: c.publicKey },
      topic: stage === 'request' ? topics.enrollRequest(c.bootstrapId) : topics.enrollProof(c.bootstrapId),
      payload: Buffer.from(payload),
    });
  const send = async (c: Client, stage: 'request' | 'proof', payload: Uint8Array | string): Promise<Published[]> => {
    const before = published.length;
    handle(c, stage, payload);
    await registrar.idle();
    return published.slice(before);
  };
  return { registrar, published, handle, send };
}

function reasonIn(answers: Published[]): string {
  expect(answers).toHaveLength(1);
  const result = decodeEnrollResult(answers[0]!.payload);
  if (result instanceof ProtocolError || result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result)}`);
  return result.reason;
}

function sessionIn(answers: Published[], c: Client): string {
  expect(answers).toHaveLength(1);
  expect(answers[0]!.topic).toBe(topics.enrollChallenge(c.bootstrapId));
  const challenge = decodeEnrollChallenge(answers[0]!.payload);
  if (challenge instanceof ProtocolError) throw challenge;
  return challenge.sessionId;
}

const wrongProof = (sessionId: string) => encodeEnrollProof({ v: 1, sessionId, proof: randomBytes(32).toString('hex') });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-registrar-'));
  store = await openSqliteStore(join(dir, 'vigil.db'));
  ca = await FleetCa.create({ keyBits: 2048 });
  const ekRoot = await makeTestCa('Software EK Root');
  trust = EkTrustStore.fromPem([ekRoot.pem]);
  ekPublic = rsaPublicArea(EK_TEMPLATE_RSA_2048, rsaKey.publicKey);
  ekCertificate = Buffer.from(await issueEkCertificate(ekRoot, rsaKey.publicKey)).toString('base64');
  akPublic = rsaPublicArea(AK_TEMPLATE_RSA, generateKeyPair({ type: 'rsa', modulusLength: 2048 }).publicKey);
});

afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('registrar sessions', () => {
  it('answers a valid request with MakeCredential output for the EK and a session bound to the client', async () => {
    const { send } = harness();
    const c = client();
    const answers = await send(c, 'request', request(await token()));
    const sessionId = sessionIn(answers, c);
    const challenge = decodeEnrollChallenge(answers[0]!.payload) as { credentialBlob: string; encryptedSecret: string; expiresAt: number };
    // TPM2B wire form, as TPM2_ActivateCredential takes it; RSA-2048 EK: a 256-byte OAEP ciphertext.
    expect(unmarshal(TPM2B_ID_OBJECT, Buffer.from(challenge.credentialBlob, 'base64')).length).toBeGreaterThan(32);
    expect(unmarshal(TPM2B_ENCRYPTED_SECRET, Buffer.from(challenge.encryptedSecret, 'base64'))).toHaveLength(256);
    // Another client cannot use (or even learn of) the session; its owner can, once.
    expect(await store.consumeEnrollmentSession(sessionId, client().bootstrapId, Date.now())).toEqual({ ok: false, reason: 'other-client' });
    const consumed = await store.consumeEnrollmentSession(sessionId, c.bootstrapId, Date.now());
    expect(consumed.ok && consumed.session.secret).toHaveLength(32);
    expect(consumed.ok && sessionContextFromJson(consumed.session.context)?.deviceId).toMatch(/^ek-[0-9a-f]{40}$/);
  });

  it('keeps one open session per client: a new request replaces the previous one', async () => {
    const { send } = harness();
    const c = client();
    const t = await token({ uses: 2 });
    const first = sessionIn(await send(c, 'request', request(t)), c);
    const second = sessionIn(await send(c, 'request', request(t)), c);
    expect(reasonIn(await send(c, 'proof', wrongProof(first)))).toBe('session-used');
    expect(reasonIn(await send(c, 'proof', wrongProof(second)))).toBe('proof-invalid');
  });

  it("refuses a proof for another client's session as an unknown session", async () => {
    const { send } = harness();
    const owner = client();
    const sessionId = sessionIn(await send(owner, 'request', request(await token())), owner);
    expect(reasonIn(await send(client(), 'proof', wrongProof(sessionId)))).toBe('session-unknown');
  });

  it('refuses a proof after the session expired', async () => {
    let now = Date.now();
    const { send } = harness({ clock: () => now, settings: { allowEkWithoutCertificate: false, sessionTtlMs: 5_000, certificateValidityMs: 3_600_000 } });
    const c = client();
    const sessionId = sessionIn(await send(c, 'request', request(await token())), c);
    now += 5_001;
    expect(reasonIn(await send(c, 'proof', wrongProof(sessionId)))).toBe('session-expired');
  });

  it("uses the token's fixed device name, and refuses one that belongs to another TPM", async () => {
    const { send } = harness();
    const c = client();
    const sessionId = sessionIn(await send(c, 'request', request(await token({ deviceName: 'cam-entrance' }))), c);
    const consumed = await store.consumeEnrollmentSession(sessionId, c.bootstrapId, Date.now());
    expect(consumed.ok && sessionContextFromJson(consumed.session.context)?.deviceId).toBe('cam-entrance');

    const taken = await store.enrollDevice({
      tokenHash: hashEnrollmentToken(await token({ deviceName: 'cam-lobby' })),
      device: { id: 'cam-lobby', ekPublic: new Uint8Array(4), ekName: '000b' + 'aa'.repeat(32), akPublic: new Uint8Array(4), akName: '000b' + 'bb'.repeat(32), facts: { hostname: 'h', os: 'o', arch: 'a', agentVersion: '0', tpm: { manufacturer: 'm', firmwareVersion: 'f' } } },
      certificate: { serial: '0a', notBefore: Date.now(), notAfter: Date.now() + 1000, pem: 'x' },
      actor: 'test',
    });
    expect(taken.ok).toBe(true);
    expect(reasonIn(await send(c, 'request', request(await token({ deviceName: 'cam-lobby' }))))).toBe('device-name-taken');
  });

  it('accepts an EK without a certificate only when configured to', async () => {
    const { ekCertificate: _none, ...withoutCertificate } = JSON.parse(Buffer.from(request(await token())).toString()) as EnrollRequest;
    const strict = harness();
    expect(reasonIn(await strict.send(client(), 'request', encodeEnrollRequest({ ...withoutCertificate, token: await token() })))).toBe('ek-certificate-missing');
    const lenient = harness({ settings: { allowEkWithoutCertificate: true, sessionTtlMs: 60_000, certificateValidityMs: 3_600_000 } });
    const c = client();
    sessionIn(await lenient.send(c, 'request', encodeEnrollRequest({ ...withoutCertificate, token: await token() })), c);
  });

  it('refuses a bootstrap key the fleet CA cannot certify (not RSA)', async () => {
    const { send } = harness();
    expect(reasonIn(await send(client(generateKeyPair({ type: 'ec', namedCurve: 'P-256' }).publicKey), 'request', request(await token())))).toBe('invalid-request');
  });
});

describe('registrar robustness', () => {
  it('ignores device identities, other topics and a topic that names another client', async () => {
    const { registrar, published } = harness();
    const c = client();
    const payload = Buffer.from(request(await token()));
    registrar.handle({ identity: { kind: 'device', deviceId: 'cam-1', serial: '01' }, topic: topics.enrollRequest(c.bootstrapId), payload });
    registrar.handle({ identity: { kind: 'bootstrap', ...c }, topic: topics.enrollChallenge(c.bootstrapId), payload });
    registrar.handle({ identity: { kind: 'bootstrap', ...c }, topic: topics.deviceEvidence('cam-1'), payload });
    registrar.handle({ identity: { kind: 'bootstrap', ...c }, topic: topics.enrollRequest(client().bootstrapId), payload });
    await registrar.idle();
    expect(published).toHaveLength(0);
    expect(registrar.outcomes.snapshot()).toEqual({});
  });

  it('handles one message per client at a time and at most maxInFlight over all', async () => {
    const { registrar, published, handle } = harness({ maxInFlight: 1 });
    const a = client();
    const b = client();
    const t = await token({ uses: 3 });
    handle(a, 'request', request(t));
    handle(a, 'request', request(t)); // dropped: a's first is still being handled
    handle(b, 'request', request(t)); // told to retry: the registrar is at its limit
    await registrar.idle();
    expect(published.map((p) => p.topic).sort()).toEqual([topics.enrollChallenge(a.bootstrapId), topics.enrollResult(b.bootstrapId)].sort());
    expect(reasonIn(published.filter((p) => p.topic === topics.enrollResult(b.bootstrapId)))).toBe('internal-error');
  });

  it('answers internal-error when the store fails, and takes no message after close', async () => {
    const broken = await openSqliteStore(join(dir, 'broken.db'));
    await broken.close();
    const { registrar, send, published } = harness({ store: broken });
    expect(reasonIn(await send(client(), 'request', request(generateEnrollmentToken())))).toBe('internal-error');
    await registrar.close();
    await send(client(), 'request', 'x');
    expect(published).toHaveLength(1);
  });

  it('answers arbitrary payloads with exactly one named refusal, and counts every outcome', async () => {
    const outcomes: string[] = [];
    const { send, registrar } = harness({ onOutcome: (o) => outcomes.push(o) });
    const t = await token({ uses: 1000 });
    const valid = JSON.parse(Buffer.from(request(t)).toString()) as Record<string, unknown>;
    const payloads = fc.oneof(
      fc.uint8Array({ maxLength: 512 }),
      fc.string({ maxLength: 256 }),
      fc.json({ maxDepth: 4 }),
      // A valid request with one field replaced by an arbitrary JSON value.
      fc.tuple(fc.constantFrom(...Object.keys(valid)), fc.jsonValue({ maxDepth: 2 })).map(([k, v]) => JSON.stringify({ ...valid, [k]: v })),
      // ...or with random bytes as the EK or AK public area.
      fc.tuple(fc.constantFrom('ekPublic', 'akPublic', 'ekCertificate'), fc.uint8Array({ minLength: 1, maxLength: 300 })).map(([k, b]) => JSON.stringify({ ...valid, [k]: Buffer.from(b).toString('base64') })),
    );
    await fc.assert(
      fc.asyncProperty(payloads, fc.constantFrom<'request' | 'proof'>('request', 'proof'), async (payload, stage) => {
        const answers = await send(client(rsaKey.publicKey), stage, typeof payload === 'string' ? payload : payload instanceof Uint8Array ? payload : JSON.stringify(payload));
        expect(answers).toHaveLength(1);
        const challenge = decodeEnrollChallenge(answers[0]!.payload);
        if (!(challenge instanceof ProtocolError)) return; // a replaced field that was still valid
        expect(ENROLL_REJECTIONS).toContain(reasonIn(answers));
      }),
      { numRuns: 200 },
    );
    expect(outcomes).toHaveLength(200);
    expect(Object.values(registrar.outcomes.snapshot()).reduce((a, b) => a + b, 0)).toBe(200);
    expect(outcomes).toContain('invalid-request');
  });
});
