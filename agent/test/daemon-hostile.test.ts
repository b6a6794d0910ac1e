/**
 * The daemon in-process against the real broker (no verifier: the test
 * plays the server), a real swtpm and a device provisioned the way
 * enrollment leaves it. Whatever arrives on its topics — random bytes,
 * malformed or expired challenges, unsigned or forged revocation events —
 * it keeps running and answers only real challenges, each once; a
 * revocation event signed by the fleet CA ends it with exit 6 and its hook.
 */
import { createPrivateKey } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeEvidence, encodeChallenge, encodeRevocation, ProtocolError, randomId, signRevocation, topics } from '@vigil/protocol';
import type { FleetCa } from '@vigil/server';
import { generateKeyPair } from '@vigil/tpm2-ts';
import { defaultAgentConfig } from '../src/config/index.js';
import { createAttester } from '../src/daemon/attestation-adapter.js';
import { AgentDaemon, type DaemonExit } from '../src/daemon/daemon.js';
import { readStatusFile } from '../src/daemon/status-file.js';
import { prepareEnrollmentKeys } from '../src/enroll/tpm-keys.js';
import { loadOrCreateBootstrapIdentity } from '../src/identity/index.js';
import { saveEnrollment } from '../src/state/index.js';
import { startTestBroker, type TestBroker } from '../../test/harness/broker.js';
import { makeFleetCa, makeTempDir } from '../../test/harness/pki.js';
import { startSwtpm, type SwtpmInstance } from '../../test/harness/swtpm.js';

const DEVICE = 'hostile-test-device';
let tmp: { path: string; cleanup: () => Promise<void> };
let swtpm: SwtpmInstance;
let ca: FleetCa;
let broker: TestBroker;
let daemon: AgentDaemon;
let exited: Promise<DaemonExit>;
const evidence: Buffer[] = [];
const requests: string[] = [];

/** What enrollment leaves in the state directory: key, certificate from the fleet CA, CA, AK blobs, enrollment record. */
async function provision(state: string): Promise<void> {
  const identity = await loadOrCreateBootstrapIdentity(state);
  const tpm = swtpm.connect();
  try {
    const keys = await prepareEnrollmentKeys(tpm, 'rsa', state, pino({ level: 'silent' }));
    await keys.release();
    const issued = ca.issueDeviceCertificate({ publicKey: createPrivateKey(identity.privateKeyPem), deviceId: DEVICE });
    await saveEnrollment(state, {
      record: {
        v: 1,
        deviceId: DEVICE,
        server: `mqtts://localhost:${broker.port}`,
        bootstrapId: identity.bootstrapId,
        enrolledAt: Date.now(),
        certificate: { serial: issued.serial, notAfter: issued.notAfter.getTime() },
        tpm: { ekKind: keys.ekKind, ekName: Buffer.from(keys.ek.name).toString('hex'), akKind: 'rsa', akName: Buffer.from(keys.akBlobs.name).toString('hex') },
      },
      certificatePem: issued.pem,
      caPem: ca.certificatePem,
    });
  } finally {
    await tpm.close();
  }
}

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((r) => setTimeout(r, 20));
}

beforeAll(async () => {
  tmp = await makeTempDir('vigil-agent-hostile-');
  swtpm = await startSwtpm();
  ca = await makeFleetCa();
  broker = await startTestBroker(ca);
  broker.broker.onMessage((m) => {
    if (m.topic === topics.deviceEvidence(DEVICE)) evidence.push(Buffer.from(m.payload));
    if (m.topic === topics.deviceChallengeRequest(DEVICE)) requests.push(Buffer.from(m.payload).toString());
  });
  const state = join(tmp.path, 'state');
  await provision(state);
  const caFile = join(tmp.path, 'ca.pem');
  await writeFile(caFile, ca.certificatePem);
  const config = defaultAgentConfig({ server: `mqtts://localhost:${broker.port}`, ca: caFile });
  config.tpm = swtpm.uri;
  config.state = state;
  config.eventlog = join(tmp.path, 'none');
  config.imaLog = join(tmp.path, 'none');
  config.revokedHook = `echo "$VIGIL_REVOCATION_REASON" > '${join(tmp.path, 'hook.out')}'`;
  config.reconnect.initialDelayMs = 100;
  daemon = new AgentDaemon({ config, log: pino({ level: 'silent' }), attester: createAttester });
  exited = daemon.run();
  await until(async () => (await readStatusFile(state).catch(() => undefined))?.connection.state === 'connected');
});

afterAll(async () => {
  daemon?.stop();
  await exited;
  await broker?.broker.close();
  await swtpm?.stop();
  await tmp?.cleanup();
});

function challenge(expiresAt = Date.now() + 30_000) {
  return { v: 1 as const, challengeId: randomId(), nonce: Buffer.alloc(32, 7).toString('hex'), pcrSelection: { sha256: [0, 13] }, offsets: { imaEntries: 0, modelEntries: 0 }, expiresAt };
}

describe('the daemon facing a hostile or broken server', () => {
  it('asked for a challenge when it connected (reason boot: first start)', () => {
    expect(requests.map((r) => JSON.parse(r) as { reason: string })[0]?.reason).toBe('boot');
  });

  it('answers a real challenge once, however many times it is delivered', async () => {
    const c = challenge();
    for (let i = 0; i < 3; i++) await broker.broker.publish(topics.deviceChallenge(DEVICE), encodeChallenge(c), { qos: 1 });
    await until(() => evidence.length >= 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(evidence).toHaveLength(1);
    const e = decodeEvidence(evidence[0]!);
    expect(e).not.toBeInstanceOf(ProtocolError);
    expect((e as { challengeId: string }).challengeId).toBe(c.challengeId);
  });

  it('ignores garbage, malformed and expired messages on every topic it listens to, and keeps working', async () => {
    const before = evidence.length;
    const topicsHeard = [topics.deviceChallenge(DEVICE), topics.deviceResult(DEVICE), topics.fleetRevocations];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...topicsHeard),
        fc.oneof(
          fc.uint8Array({ maxLength: 2048 }),
          fc.jsonValue().map((v) => new TextEncoder().encode(JSON.stringify(v))),
          fc.record({ v: fc.constant(1), challengeId: fc.string(), nonce: fc.string(), ok: fc.boolean(), deviceId: fc.constant(DEVICE) }).map((v) => new TextEncoder().encode(JSON.stringify(v))),
        ),
        async (topic, payload) => {
          await broker.broker.publish(topic, payload, { qos: 0 });
        },
      ),
      { numRuns: 200 },
    );
    await broker.broker.publish(topics.deviceChallenge(DEVICE), encodeChallenge(challenge(Date.now() - 1)), { qos: 1 }); // expired
    // Still alive and answering: a good challenge after all that gets its evidence.
    const c = challenge();
    await broker.broker.publish(topics.deviceChallenge(DEVICE), encodeChallenge(c), { qos: 1 });
    await until(() => evidence.length > before);
    expect(evidence.slice(before).map((b) => (decodeEvidence(b) as { challengeId: string }).challengeId)).toEqual([c.challengeId]);
    expect((await readStatusFile(join(tmp.path, 'state'))).connection.state).toBe('connected');
  });

  it('ignores a revocation event for it that is not signed by a key it trusts', async () => {
    // generateKeyPair (tpm2-ts): signRevocation exports the key for its key id, which can deadlock in Node 20 for a key straight from node's generation.
    const forger = generateKeyPair({ type: 'ec', namedCurve: 'P-256' }).privateKey;
    const forged = signRevocation({ v: 1, deviceId: DEVICE, serials: [], reason: 'admin', revokedAt: Date.now() }, forger);
    await broker.broker.publish(topics.fleetRevocations, encodeRevocation(forged), { qos: 1 });
    const c = challenge();
    const before = evidence.length;
    await broker.broker.publish(topics.deviceChallenge(DEVICE), encodeChallenge(c), { qos: 1 });
    await until(() => evidence.length > before);
    expect((await readStatusFile(join(tmp.path, 'state'))).revoked).toBeUndefined();
  });

  it('stops for good on a revocation event signed by the fleet CA: hook, exit 6', async () => {
    const event = signRevocation({ v: 1, deviceId: DEVICE, serials: [], reason: 'admin', message: 'decommissioned', revokedAt: Date.now() }, createPrivateKey(ca.privateKeyPem()));
    await broker.broker.publish(topics.fleetRevocations, encodeRevocation(event), { qos: 1 });
    const exit = await exited;
    expect(exit.exitCode).toBe(6);
    expect(await readFile(join(tmp.path, 'hook.out'), 'utf8')).toContain('admin: decommissioned');
    const status = await readStatusFile(join(tmp.path, 'state'));
    expect(status.revoked?.source).toBe('fleet-event');
    expect(status.connection.state).toBe('revoked');
  });
});
