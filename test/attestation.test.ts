/**
 * Continuous attestation end to end: the real server (in-process, from a
 * data directory the built `vigil-server init` made), the real mutual-TLS
 * broker, devices enrolled through the real registrar, each with its own
 * swtpm booted from a recorded firmware event log, answering challenges with
 * the agent's evidence builder. A known-good device attests; golden values
 * are captured from it and assigned to the fleet; then each tampering makes
 * it contraindicated and revoked with the right reason, after which it is
 * reinstated, re-enrolled, rebooted and trusted again.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEventLog, serializeEventLog } from '@vigil/evidence';
import { verifyRevocation, type AttestationResult, type Evidence, type RevocationEvent } from '@vigil/protocol';
import { PCR_Extend, Shutdown, TPM_ALG, TPM_SU } from '@vigil/tpm2-ts';
import { buildEvidence } from '../agent/src/attestation/index.js';
import { loadFleetCaFiles, normalizeSerial } from '../server/src/pki/index.js';
import { Revocations } from '../server/src/revocation/index.js';
import { verifyWebhookSignature } from '../server/src/webhook/index.js';
import { reasonCodes, startAttestationServer, TestDevice, verdictOf, type AttestationServer } from './harness/attestation.js';
import { closed } from './harness/broker.js';
import { startSwtpm, type SwtpmInstance } from './harness/swtpm.js';
import { WebhookReceiver } from './harness/webhook-receiver.js';

const run = promisify(execFile);
const SERVER_CLI = join(import.meta.dirname, '..', 'server', 'dist', 'cli', 'vigil-server.cjs');
const WEBHOOK_SECRET = 'test-webhook-secret-' + randomBytes(8).toString('hex');
const MAX_QUEUED = 4;

let swtpmA: SwtpmInstance;
let swtpmB: SwtpmInstance;
let env: AttestationServer;
let webhook: WebhookReceiver;
let a: TestDevice;
let b: TestDevice;
let modelPath: string;
let originalModel: Buffer;

/** `vigil-server <args> --data DIR` (the built CLI; through the running server's admin API). */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [SERVER_CLI, ...args, '--data', env.paths.root]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

function status(result: AttestationResult): string {
  const v = verdictOf(result);
  const order = ['affirming', 'none', 'warning', 'contraindicated'];
  return Object.values(v.submods).reduce((worst, s) => (order.indexOf(s!['ear.status']) > order.indexOf(worst) ? s!['ear.status'] : worst), 'affirming');
}

/** Waits until the device's session is closed and its revocation is in the store; returns the fleet event B saw. */
async function expectRevoked(device: TestDevice, reason: RevocationEvent['reason']): Promise<RevocationEvent> {
  const event = await b.revocations.take((e) => e.deviceId === device.deviceId);
  expect(event.reason).toBe(reason);
  expect(verifyRevocation(event, await env.serverPublicKey())).toBe(true);
  await closed(device.client!);
  expect((await env.store.getDevice(device.deviceId))?.revoked).toBe(true);
  return event;
}

/**
 * After a revocation: reinstated (status none, its certificates still
 * revoked), enrolled again for a new certificate, rebooted from its recorded
 * firmware log, and trusted again once it passes an attestation.
 */
async function restore(device: TestDevice): Promise<void> {
  device.disconnect();
  const reinstated = await env.server.context.services.get(Revocations)!.reinstate(device.deviceId, 'test');
  expect(reinstated.ok).toBe(true);
  expect((await env.store.getDevice(device.deviceId))?.status).toBe('none');
  await device.enroll();
  await device.reboot();
  await device.connect();
  const { result } = await device.attest();
  expect(reasonCodes(result).filter((c) => c !== 'identity/tpm-reboot')).toEqual([]);
  expect(status(result)).toBe('affirming');
}

beforeAll(async () => {
  swtpmA = await startSwtpm();
  // B is a TPM of its own (own endorsement seed and manufacturer CA): its RSA AK is another device's key of the same kind.
  swtpmB = await startSwtpm({ fresh: true });
  env = await startAttestationServer({
    swtpm: swtpmA,
    extraManufacturerCas: [swtpmB.ekCaCert, swtpmB.ekIssuerCert],
    overrides: [
      { path: 'attestation.intervalSeconds', value: 3600, flag: 'test' },
      // One appraisal at a time: the flood test then shows the queue's order exactly (round-robin, bounded per device).
      { path: 'attestation.concurrency', value: 1, flag: 'test' },
      { path: 'attestation.maxQueuedPerDevice', value: MAX_QUEUED, flag: 'test' },
      { path: 'limits.publishRatePerSecond', value: 5000, flag: 'test' },
      { path: 'limits.publishBurst', value: 5000, flag: 'test' },
    ],
    async beforeStart(paths) {
      webhook = await WebhookReceiver.start(await loadFleetCaFiles(paths));
      return [
        { path: 'webhook.url', value: webhook.url, flag: 'test' },
        { path: 'webhook.secret', value: WEBHOOK_SECRET, flag: 'test' },
        { path: 'webhook.caFile', value: paths.caCert, flag: 'test' },
      ];
    },
  });
  modelPath = join(env.root, 'models', 'detector.onnx');
  originalModel = randomBytes(256 * 1024);
  await mkdir(join(env.root, 'models'));
  await writeFile(modelPath, originalModel);
  a = await TestDevice.create(env, swtpmA, { name: 'a', akKind: 'rsa', models: [modelPath] });
  b = await TestDevice.create(env, swtpmB, { name: 'b', akKind: 'rsa', models: [modelPath] });
  await a.connect();
  await b.connect();
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await env?.stop();
  await webhook?.stop();
  await swtpmA?.stop();
  await swtpmB?.stop();
});

describe('continuous attestation over the real broker with swtpm devices', () => {
  it('challenges a device as soon as it subscribes, and an enrolled device attests affirming (integrity only, no policy yet)', async () => {
    // The challenge the server pushed when A subscribed is already here.
    expect(a.challenges.items.length).toBeGreaterThan(0);
    const { result } = await a.attest();
    const verdict = verdictOf(result);
    expect(Object.fromEntries(Object.entries(verdict.submods).map(([k, v]) => [k, v!['ear.status']]))).toEqual({ boot: 'affirming', models: 'affirming', identity: 'affirming' });
    expect(verdict.submods.identity?.['ear.appraisal-policy-id']).toBe('none');
    expect(verdict['vigil.device-id']).toBe(a.deviceId);
    const stored = (await env.store.listAttestations(a.deviceId, 1))[0]!;
    expect(stored.status).toBe('affirming');
    expect(stored.verdict).toEqual(verdict);
    expect((await env.store.getDevice(a.deviceId))?.status).toBe('affirming');
    expect(status((await b.attest()).result)).toBe('affirming');
  });

  it('captures golden values from the reference device and makes them the fleet policy (vigil-server policy capture / assign --all)', async () => {
    const captured = await cli('policy', 'capture', '--from-device', a.deviceId, '--name', 'golden', '--json');
    expect(captured.code, captured.stderr).toBe(0);
    const info = JSON.parse(captured.stdout) as { info: { name: string; version: number }; pcrs: number; models: number };
    expect(info).toMatchObject({ info: { name: 'golden', version: 1 }, pcrs: 11, models: 1 });
    expect((await cli('policy', 'assign', 'golden', '--all')).code).toBe(0);

    const doc = (await env.store.getPolicy('golden'))!.document as { pcrs: { sha256: Record<string, string[]> }; models: { allowed: Record<string, string[]> }; eventLog: { bootApplications: string[] } };
    expect(Object.keys(doc.pcrs.sha256).sort((x, y) => Number(x) - Number(y))).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '14']);
    expect(doc.models.allowed[modelPath]).toHaveLength(1);
    expect(doc.eventLog.bootApplications).toHaveLength(2);

    for (const device of [a, b]) {
      const { result } = await device.attest();
      expect(status(result)).toBe('affirming');
      expect(verdictOf(result).submods.boot?.['ear.appraisal-policy-id']).toBe('golden@1');
    }
    // The operator's command: exit 0 and the verdict as JSON when affirming.
    a.challenges.drain();
    const command = cli('attest', a.deviceId, '--json', '--timeout', '30');
    const pushed = await a.challenges.take();
    await a.send((await a.build(pushed)).evidence, pushed.challengeId);
    const attested = await command;
    expect(attested.code, attested.stderr).toBe(0);
    expect(JSON.parse(attested.stdout)).toMatchObject({ 'vigil.device-id': a.deviceId, submods: { identity: { 'ear.status': 'affirming' } } });
  }, 60_000);

  it('records a reboot (swtpm power cycle) instead of failing it', async () => {
    const before = (await env.store.getDevice(a.deviceId))!.tpmClock!;
    await a.reboot();
    const { result } = await a.attest();
    expect(status(result)).toBe('affirming');
    expect(reasonCodes(result)).toEqual(['identity/tpm-reboot']);
    const after = (await env.store.getDevice(a.deviceId))!.tpmClock!;
    expect(after.resetCount).toBe(before.resetCount + 1);
    // The next attestation of the same boot is no reboot.
    expect(reasonCodes((await a.attest()).result)).toEqual([]);
  });

  it('a flood of bad messages from one device does not hold up another device’s verdict', async () => {
    // Many small malformed messages: each is cheap to send and costs the server a refusal, a record and a result.
    const bad = Buffer.from('{"v":1,"challengeId":"AAAAAAAAAAAAAAAAAAAAAA"}');
    const flood = 1500;
    const firstResult = b.results.items.length;
    // Every message is in the server's hands (PUBACK) before A sends its evidence.
    await Promise.all(Array.from({ length: flood }, () => b.client!.publishAsync(`vigil/v1/devices/${b.deviceId}/evidence`, bad, { qos: 1 })));
    const challenge = await a.challenge();
    const { evidence } = await a.build(challenge);
    const atSend = b.results.items.length;
    const result = await a.send(evidence, challenge.challengeId);
    const atVerdict = b.results.items.length;
    expect(status(result)).toBe('affirming');
    // While A's evidence waited, at most B's queued messages (and the one running) were appraised: not B's backlog.
    const appraisedMeanwhile = b.results.items.slice(atSend, atVerdict).filter((r) => !r.ok && r.error === 'schema').length;
    expect(appraisedMeanwhile).toBeLessThanOrEqual(MAX_QUEUED + 1);
    // Every bad message got exactly one error result (appraised: schema; refused at once: overloaded), each recorded, and B stays trusted.
    while (b.results.items.length < firstResult + flood) await b.results.take();
    const answers = b.results.items.slice(firstResult, firstResult + flood);
    expect(answers.every((r) => !r.ok && (r.error === 'schema' || r.error === 'overloaded'))).toBe(true);
    const records = await env.store.listAttestations(b.deviceId, flood);
    expect(records).toHaveLength(flood);
    expect(records.every((r) => r.error !== null && r.verdict === null)).toBe(true);
    expect((await env.store.getDevice(b.deviceId))?.revoked).toBe(false);
    expect(status((await b.attest()).result)).toBe('affirming');
  }, 60_000);
});

describe('each tampering makes the device contraindicated and revoked with the right reason', () => {
  it('a PCR extended outside the log: boot contraindicated (event-log-mismatch on that PCR); revoked everywhere', async () => {
    await a.tpm.execute(PCR_Extend, { pcrHandle: 9, digests: [{ hashAlg: TPM_ALG.SHA256, digest: randomBytes(32) }] });
    const { result } = await a.attest();
    expect(status(result)).toBe('contraindicated');
    const boot = verdictOf(result).submods.boot!;
    expect(boot['ear.status']).toBe('contraindicated');
    expect(boot['vigil.reasons']).toContainEqual(expect.objectContaining({ code: 'event-log-mismatch', where: expect.objectContaining({ bank: 'sha256', pcr: 9 }) }));
    expect(verdictOf(result).submods.identity?.['ear.status']).toBe('affirming');

    const serial = a.identity.record.certificate.serial;
    const event = await expectRevoked(a, 'contraindicated');
    expect(event.serials.map((s) => normalizeSerial(s))).toContain(normalizeSerial(serial));
    // Reconnection is refused.
    const again = await a.reconnectOutcome();
    expect(again.kind).not.toBe('connected');
    // The webhook was called, signed with the shared secret, carrying the signed fleet event.
    const call = await webhook.waitFor((c) => c.body.includes(a.deviceId));
    expect(verifyWebhookSignature(WEBHOOK_SECRET, call.body, call.headers['x-vigil-signature'] as string)).toBe(true);
    expect(verifyWebhookSignature('another-secret-entirely', call.body, call.headers['x-vigil-signature'] as string)).toBe(false);
    const body = JSON.parse(call.body) as { type: string; event: RevocationEvent };
    expect(body.type).toBe('vigil.revocation');
    expect(verifyRevocation(body.event, await env.serverPublicKey())).toBe(true);
    // The CRL (as OpenSSL reads it) lists the certificate.
    const crl = await run('openssl', ['crl', '-in', env.paths.crl, '-noout', '-text']);
    const listed = [...crl.stdout.matchAll(/Serial Number: ([0-9A-Fa-f]+)/g)].map((m) => normalizeSerial(m[1]!));
    expect(listed).toContain(normalizeSerial(serial));
    // The audit chain verifies and records the revocation.
    expect((await env.store.verifyAuditChain()).ok).toBe(true);
    const audit = await cli('audit', 'verify');
    expect(audit.code, audit.stderr).toBe(0);
    expect((await env.store.listAudit({ limit: 100_000 })).some((e) => e.action === 'device.revoke' && e.subject === `device:${a.deviceId}`)).toBe(true);
    await restore(a);
  }, 60_000);

  it('a model file changed: models contraindicated (model-digest-not-allowed, naming the file)', async () => {
    await writeFile(modelPath, Buffer.concat([originalModel.subarray(0, 1000), Buffer.from([originalModel[1000]! ^ 1]), originalModel.subarray(1001)]));
    try {
      expect(await a.modelLog.measureModels([modelPath])).toHaveLength(1);
      const { result } = await a.attest();
      const models = verdictOf(result).submods.models!;
      expect(models['ear.status']).toBe('contraindicated');
      expect(models['vigil.reasons']).toContainEqual(expect.objectContaining({ code: 'model-digest-not-allowed', where: expect.objectContaining({ path: modelPath }) }));
      await expectRevoked(a, 'contraindicated');
    } finally {
      await writeFile(modelPath, originalModel);
    }
    await restore(a);
  }, 60_000);

  it('an event log with one event altered: boot contraindicated (event-log-mismatch)', async () => {
    const original = await readFile(a.bootLogPath);
    const log = parseEventLog(original);
    const target = log.events.find((e) => e.pcrIndex === 4 && e.digests.some((d) => d.bank === 'sha256'))!;
    const altered = serializeEventLog(
      log.events.map((e) => (e.index !== target.index ? e : { ...e, digests: e.digests.map((d) => ({ ...d, digest: d.digest.map((x, i) => (i === 0 ? x ^ 0xff : x)) })) })),
    );
    await a.writeBootLog(altered);
    try {
      const { result, evidence } = await a.attest();
      expect(evidence.bootLog?.blob).toBeDefined(); // the changed log was sent in full
      expect(verdictOf(result).submods.boot?.['vigil.reasons']).toContainEqual(
        expect.objectContaining({ code: 'event-log-mismatch', where: expect.objectContaining({ bank: 'sha256', pcr: 4 }) }),
      );
      expect(status(result)).toBe('contraindicated');
      await expectRevoked(a, 'contraindicated');
    } finally {
      await a.writeBootLog(original);
    }
    await restore(a);
  }, 60_000);

  it('evidence replayed from an earlier challenge: identity contraindicated (challenge-used)', async () => {
    const first = await a.attest();
    expect(status(first.result)).toBe('affirming');
    const replayed = await a.send(first.evidence, first.challenge.challengeId);
    expect(reasonCodes(replayed)).toEqual(['identity/challenge-used']);
    expect(status(replayed)).toBe('contraindicated');
    await expectRevoked(a, 'contraindicated');
    await restore(a);
  }, 60_000);

  it('a quote signed by another device’s AK: identity contraindicated (bad-signature)', async () => {
    const challenge = await a.challenge();
    // B's TPM answers A's challenge, with B's AK.
    const forged = await buildEvidence(challenge, { tpm: b.tpm, ak: b.ak.ak, bootLogPath: b.bootLogPath, imaLog: null, modelLog: b.modelLog });
    const result = await a.send(forged.evidence, challenge.challengeId);
    expect(reasonCodes(result)).toEqual(['identity/bad-signature']);
    expect(status(result)).toBe('contraindicated');
    await expectRevoked(a, 'contraindicated');
    await restore(a);
  }, 60_000);

  it('a corrupted signature: identity contraindicated (bad-signature)', async () => {
    const { result } = await a.attest((e: Evidence) => {
      const sig = Buffer.from(e.signature, 'base64');
      const i = sig.length - 40;
      sig[i] = sig[i]! ^ 0x01;
      return { ...e, signature: sig.toString('base64') };
    });
    expect(reasonCodes(result)).toEqual(['identity/bad-signature']);
    await expectRevoked(a, 'contraindicated');
    await restore(a);
  }, 60_000);

  it('a rolled-back TPM (state restored from a copy): identity contraindicated (reset-count-decreased)', async () => {
    // A copy of the TPM's state now...
    await a.tpm.execute(Shutdown, { shutdownType: TPM_SU.CLEAR });
    const snapshot = `${swtpmA.stateDir}.snapshot`;
    await cp(swtpmA.stateDir, snapshot, { recursive: true });
    await swtpmA.powerCycle(a.tpm, { orderly: false });
    await a.afterReset();
    expect(reasonCodes((await a.attest()).result)).toEqual(['identity/tpm-reboot']);
    await a.reboot();
    expect(reasonCodes((await a.attest()).result)).toEqual(['identity/tpm-reboot']);
    // ...put back: the TPM comes up with an older resetCount than the verifier has seen.
    await a.ak.release();
    await a.tpm.close();
    await cp(snapshot, swtpmA.stateDir, { recursive: true, force: true });
    await rm(snapshot, { recursive: true, force: true });
    await swtpmA.restart();
    a.tpm = swtpmA.connect();
    await a.afterReset();
    const { result } = await a.attest();
    expect(reasonCodes(result)).toEqual(['identity/reset-count-decreased']);
    expect(status(result)).toBe('contraindicated');
    await expectRevoked(a, 'contraindicated');
    await restore(a);
  }, 90_000);

  it('keeps every verdict with the digest of the evidence it judged: the device history shows them (vigil-server attestations)', async () => {
    const history = await env.store.listAttestations(a.deviceId, 500);
    const contraindicated = history.filter((h) => h.status === 'contraindicated');
    expect(contraindicated.length).toBe(7);
    expect(contraindicated.every((h) => /^[0-9a-f]{64}$/.test(h.evidenceDigest) && h.verdict !== null && h.reasons.length > 0)).toBe(true);
    const out = await cli('attestations', a.deviceId, '--limit', '100', '--json');
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('reset-count-decreased');
    // The counts are in the server's metrics too.
    const metric = async (name: string, label: string) => {
      const m = (await env.server.context.metrics.registry.getSingleMetric(name)!.get()).values.find((v) => Object.values(v.labels).includes(label));
      return m?.value ?? 0;
    };
    expect(await metric('vigil_verdicts_total', 'contraindicated')).toBe(7);
    expect(await metric('vigil_revocations_total', 'contraindicated')).toBe(7);
    expect(await metric('vigil_verdicts_total', 'affirming')).toBeGreaterThan(10);
    expect(await metric('vigil_challenges_total', 'sent')).toBeGreaterThan(10);
    const histogram = await env.server.context.metrics.registry.getSingleMetricAsString('vigil_verification_duration_seconds');
    expect(Number(/vigil_verification_duration_seconds_count (\d+)/.exec(histogram)?.[1])).toBeGreaterThan(10);
  }, 60_000);
});
