/**
 * Issue 9, hostile messages: a corpus of malformed and lying messages on
 * every topic the server reads, sent through the real mutual-TLS broker to
 * the whole server (in-process, so its heap can be measured). Every message
 * gets a named answer and a record; the heap stays bounded; another device's
 * verdicts keep flowing during the storm.
 *
 * Evidence that cannot be appraised (schema, size, JSON) is answered with an
 * error result and an attestation record with that error; evidence that
 * decodes but lies (truncated or retagged TPM structures, selections that do
 * not match, logs whose size fields lie, decompression bombs, a TPM2_Certify
 * attestation from a real swtpm instead of a quote) is contraindicated with
 * the reason named, recorded, and revokes that device only. Enrollment
 * messages are answered with a named refusal and audited.
 */
import { createHash } from 'node:crypto';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codecs, encodeEvidence, topics, type AttestationResult, type MessageCodec, type TopicKind, ProtocolError } from '@vigil/protocol';
import { Certify, TPM_ALG, TPMT_SIGNATURE, keyHandle, marshal } from '@vigil/tpm2-ts';
import { startAttestationServer, TestDevice, type AttestationServer } from './harness/attestation.js';
import { closed, connectOk } from './harness/broker.js';
import { BootstrapClient } from './harness/enrollment.js';
import { HOSTILE_EVIDENCE } from './harness/hostile-evidence.js';
import { hostileChallengeRequests, hostileEnrollProofs, hostileEnrollRequests, hostileEvidencePayloads } from './harness/hostile-messages.js';
import { makeDeviceCredentials } from './harness/pki.js';
import { enrollSimDevices, SimDevice, type SimIdentity } from './harness/sim-fleet.js';
import { startSwtpm, type SwtpmInstance } from './harness/swtpm.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let swtpm: SwtpmInstance;
let env: AttestationServer;
const devices: SimDevice[] = [];

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function simDevice(identity?: SimIdentity): Promise<SimDevice> {
  const id = identity ?? (await enrollSimDevices(env.store, env.server.context.ca, 1, 'hostile'))[0]!;
  const d = new SimDevice(id);
  await d.connect(env.server.port, env.server.context.ca.certificatePem);
  devices.push(d);
  return d;
}

/** Heap and buffers in use after a full collection. */
function memoryInUse(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function status(result: AttestationResult): string {
  if (!result.ok) return `error:${result.error}`;
  const order = ['affirming', 'none', 'warning', 'contraindicated'];
  return Object.values(result.verdict.submods).reduce((w, s) => (order.indexOf(s!['ear.status']) > order.indexOf(w) ? s!['ear.status'] : w), 'affirming');
}

beforeAll(async () => {
  swtpm = await startSwtpm();
  env = await startAttestationServer({
    swtpm,
    overrides: [
      { path: 'attestation.intervalSeconds', value: 3600, flag: 'test' },
      { path: 'limits.publishRatePerSecond', value: 2000, flag: 'test' },
      { path: 'limits.publishBurst', value: 2000, flag: 'test' },
    ],
  });
});

afterAll(async () => {
  for (const d of devices) d.close();
  await env?.stop();
  await swtpm?.stop();
});

describe('the hostile corpus', () => {
  it('is refused by each topic’s codec for the reason each case names', () => {
    const corpora: Array<[TopicKind, ReturnType<typeof hostileEvidencePayloads>]> = [
      ['enroll-request', hostileEnrollRequests()],
      ['enroll-proof', hostileEnrollProofs()],
      ['device-evidence', hostileEvidencePayloads(true)],
      ['device-challenge-request', hostileChallengeRequests()],
    ];
    for (const [kind, corpus] of corpora) {
      expect(corpus.length).toBeGreaterThan(20);
      const codec = codecs[kind] as MessageCodec<unknown>;
      for (const c of corpus) {
        const decoded = codec.decode(c.payload);
        expect(decoded, `${kind}: ${c.name}`).toBeInstanceOf(ProtocolError);
        expect((decoded as ProtocolError).reason, `${kind}: ${c.name}`).toBe(c.reason);
      }
    }
  });
});

describe('hostile evidence that cannot be appraised', () => {
  it('each message gets its named error result and an attestation record with that error', async () => {
    const d = await simDevice();
    const corpus = hostileEvidencePayloads(true);
    for (const c of corpus) {
      const answered = d.results.take();
      await d.publishEvidence(c.payload);
      const result = await answered;
      expect(result.ok, c.name).toBe(false);
      expect(!result.ok && result.error, c.name).toBe(c.reason);
      expect(!result.ok && result.message.length, c.name).toBeGreaterThan(0);
    }
    const records = await env.store.listAttestations(d.deviceId, corpus.length + 10);
    expect(records).toHaveLength(corpus.length);
    for (const c of corpus) {
      const record = records.find((r) => r.evidenceDigest === sha256(c.payload));
      expect(record?.error?.code, c.name).toBe(c.reason);
      expect(record?.verdict, c.name).toBeNull();
    }
    // Errors say nothing about the device: it is not revoked and still attests.
    expect((await env.store.getDevice(d.deviceId))?.revoked).toBe(false);
    expect(status(await d.attest())).toBe('affirming');
  }, 120_000);

  it('a storm of them leaves memory bounded, answers each exactly once, and another device gets its verdict meanwhile', async () => {
    const stormer = await simDevice();
    const good = await simDevice();
    const corpus = [...hostileEvidencePayloads(true), ...hostileChallengeRequests()];
    const warm = hostileEvidencePayloads(true);
    // One round first, so what the server allocates once (compiled validators, caches) is not counted.
    for (const c of warm) {
      const answered = stormer.results.take();
      await stormer.publishEvidence(c.payload);
      await answered;
    }
    const before = memoryInUse();
    const rounds = 4;
    const sent: Uint8Array[] = [];
    const firstResult = stormer.results.items.length;
    const storm = (async () => {
      for (let r = 0; r < rounds; r++) {
        await Promise.all(
          corpus.map((c, i) => {
            if (i >= warm.length) {
              return stormer.client!.publishAsync(topics.deviceChallengeRequest(stormer.deviceId), Buffer.from(c.payload), { qos: 1 });
            }
            sent.push(c.payload);
            return stormer.publishEvidence(c.payload);
          }),
        );
      }
    })();
    // The good device attests while the storm is on.
    const verdict = await good.attest();
    expect(status(verdict)).toBe('affirming');
    await storm;
    while (stormer.results.items.length < firstResult + sent.length) await stormer.results.take(() => true).catch(() => undefined);
    const answers = stormer.results.items.slice(firstResult);
    expect(answers).toHaveLength(sent.length);
    // Each is its case's named error, or `overloaded` when the device's queue was full.
    expect(answers.every((a) => !a.ok && a.error !== 'internal-error')).toBe(true);
    const records = await env.store.listAttestations(stormer.deviceId, 10_000);
    expect(records.length).toBe(warm.length + sent.length);
    for (const p of new Set(sent)) {
      const n = sent.filter((x) => x === p).length;
      expect(records.filter((r) => r.evidenceDigest === sha256(p) && r.error !== null).length).toBeGreaterThanOrEqual(n);
    }
    const after = memoryInUse();
    // A leak of the payloads alone (~70 MiB in the storm) would exceed this generous bound.
    expect(after - before).toBeLessThan(48 * 1024 * 1024);
    // Nothing went wrong inside the server: no error-level log line.
    expect(env.logs.lines.filter((l) => (l.level ?? 0) >= 50)).toEqual([]);
    expect((await env.store.getDevice(stormer.deviceId))?.revoked).toBe(false);
  }, 180_000);

  it('evidence from a certified device that was never enrolled: device-unknown, logged', async () => {
    const creds = makeDeviceCredentials(env.server.context.ca, 'never-enrolled-1');
    const client = await connectOk(env.server.port, env.server.context.ca.certificatePem, creds, 'never-enrolled-1');
    try {
      await client.subscribeAsync(topics.deviceResult('never-enrolled-1'), { qos: 1 });
      const result = new Promise<Buffer>((resolve) => client.once('message', (_t, p: Buffer) => resolve(p)));
      await client.publishAsync(topics.deviceEvidence('never-enrolled-1'), Buffer.from(hostileEvidencePayloads()[0]!.payload), { qos: 1 });
      const decoded = codecs['device-result'].decode(await result);
      // The schema is checked first: a stranger learns nothing about which devices exist.
      expect(decoded).toMatchObject({ ok: false, error: 'invalid-json' });
      const valid = { v: 1 as const, challengeId: 'AAAAAAAAAAAAAAAAAAAAAA', quote: 'AAAA', signature: 'AAAA', pcrs: {} };
      const second = new Promise<Buffer>((resolve) => client.once('message', (_t, p: Buffer) => resolve(p)));
      await client.publishAsync(topics.deviceEvidence('never-enrolled-1'), Buffer.from(encodeEvidence(valid)), { qos: 1 });
      expect(codecs['device-result'].decode(await second)).toMatchObject({ ok: false, error: 'device-unknown' });
      await env.logs.waitFor((l) => l.msg === 'evidence from an unknown device' && l.deviceId === 'never-enrolled-1');
    } finally {
      client.end(true);
    }
  });
});

describe('hostile evidence that decodes but lies', () => {
  it.each(HOSTILE_EVIDENCE.map((c) => [c.name, c] as const))('%s: contraindicated with its named reason, recorded, and only that device revoked', async (_name, c) => {
    const d = await simDevice();
    const challenge = await d.freshChallenge();
    await d.publishEvidence(c.build(d.tpm, challenge));
    const result = await d.results.take((r) => r.challengeId === challenge.challengeId);
    expect(result.ok).toBe(true);
    const verdict = result.ok ? result.verdict : undefined;
    const sub = verdict!.submods[c.expect.submodule];
    expect(sub?.['ear.status']).toBe('contraindicated');
    expect(sub?.['vigil.reasons']?.map((r) => r.code)).toContain(c.expect.code);
    const [record] = await env.store.listAttestations(d.deviceId, 1);
    expect(record?.challengeId).toBe(challenge.challengeId);
    expect(record?.status).toBe('contraindicated');
    expect(record?.reasons.map((r) => r.code)).toContain(c.expect.code);
    await closed(d.client!);
    expect((await env.store.getDevice(d.deviceId))?.revoked).toBe(true);
  });

  it('a TPMS_ATTEST of another type made by a real TPM (TPM2_Certify on swtpm, signed by the enrolled AK): not-a-quote', async () => {
    const real = await TestDevice.create(env, swtpm, { name: 'certifier', akKind: 'rsa', models: [] });
    try {
      await real.connect();
      const challenge = await real.challenge();
      const ak = keyHandle(real.ak.ak);
      const certified = await real.tpm.execute(Certify, {
        objectHandle: ak,
        signHandle: ak,
        qualifyingData: Buffer.from(challenge.nonce, 'hex'),
        inScheme: { scheme: TPM_ALG.NULL, details: null },
      });
      const { evidence } = await real.build(challenge);
      const forged = { ...evidence, quote: Buffer.from(certified.certifyInfo).toString('base64'), signature: Buffer.from(marshal(TPMT_SIGNATURE, certified.signature)).toString('base64') };
      const result = await real.send(forged, challenge.challengeId);
      expect(result.ok && result.verdict.submods.identity?.['vigil.reasons']?.map((r) => r.code)).toEqual(['not-a-quote']);
      expect(status(result)).toBe('contraindicated');
      await closed(real.client!);
      expect((await env.store.getDevice(real.deviceId))?.revoked).toBe(true);
    } finally {
      await real.close();
    }
  }, 120_000);
});

describe('hostile enrollment messages', () => {
  it('each request and proof gets a named refusal and an audit record (enroll.reject), and the client stays connected', async () => {
    const client = await BootstrapClient.connect(env.server.port, env.server.context.ca.certificatePem);
    try {
      const auditBefore = (await env.store.listAudit({ limit: 100_000 })).length;
      const requests = hostileEnrollRequests();
      const proofs = hostileEnrollProofs();
      for (const c of requests) {
        await client.sendRequest(c.payload);
        expect(await client.refusal(), c.name).toBe('invalid-request');
      }
      for (const c of proofs) {
        await client.sendProof(c.payload);
        expect(await client.refusal(), c.name).toBe('invalid-request');
      }
      const rejects = (await env.store.listAudit({ limit: 100_000 })).slice(auditBefore).filter((e) => e.action === 'enroll.reject' && e.subject === `bootstrap:${client.bootstrapId}`);
      expect(rejects).toHaveLength(requests.length + proofs.length);
      expect(rejects.every((e) => (e.details as { reason?: string }).reason === 'invalid-request')).toBe(true);
      expect(client.client.connected).toBe(true);
      expect((await env.store.verifyAuditChain()).ok).toBe(true);
    } finally {
      client.close();
    }
  }, 120_000);

  it('a request past the bootstrap packet limit (256 KiB) is cut off at the broker before it is buffered', async () => {
    const client = await BootstrapClient.connect(env.server.port, env.server.context.ca.certificatePem);
    const gone = closed(client.client);
    void client.sendRequest(Buffer.alloc(300 * 1024, 0x7b)).catch(() => undefined);
    await gone;
    await env.logs.waitFor((l) => l.reason === 'packet-too-large' && l.bootstrapId === client.bootstrapId);
    client.close();
  });
});
