/**
 * TPM Restart and the model measurement log. A TPM Restart
 * (TPM2_Shutdown(STATE), _TPM_Init, TPM2_Startup(CLEAR)) sets the PCRs back
 * to their reset values and moves restartCount, not resetCount; a TPM Resume
 * (the same with Startup(STATE)) moves restartCount too but restores the
 * PCRs. The model log was bound to resetCount only, so after a Restart it
 * kept entries the zeroed model PCR no longer held: the next evidence was
 * `models/model-log-mismatch` (contraindicated: revoked), and an agent that
 * started after the Restart could not open its log at all. Now the model
 * PCR decides: a log that no longer replays to it starts over and the
 * models are measured again.
 *
 * On swtpm, with the real command sequence (data channel) and _TPM_Init
 * (control channel): the log itself, then the built `vigil-agent run`
 * against the real server, whose TPM connection passes through a TCP proxy
 * so the test can take the TPM for the Restart.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPcrs, ReadClock, Shutdown, Startup, TPM_ALG, TPM_SU, type Tpm } from '@vigil/tpm2-ts';
import { buildEvidence, MODEL_LOG_FILE, ModelMeasurementLog } from '../agent/src/attestation/index.js';
import { agentRunArgs, msg, startAgent, type AgentLogLine, type AgentProcess } from '../agent/test/helpers/agent-process.js';
import { startTestServer, type TestServer } from '../agent/test/helpers/server.js';
import { readEnrollment } from '../agent/src/state/index.js';
import { prepareAttestationKey, type AttestationKey } from '../agent/src/tpm/index.js';
import { makeTempDir } from './harness/pki.js';
import { FaultProxy } from './harness/proxy.js';
import { startSwtpm, type SwtpmInstance } from './harness/swtpm.js';

let tmp: { path: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  tmp = await makeTempDir('vigil-tpm-restart-');
});
afterAll(async () => {
  await tmp?.cleanup();
});

async function counters(tpm: Tpm): Promise<{ resetCount: number; restartCount: number }> {
  const { clockInfo } = (await tpm.execute(ReadClock, {})).currentTime;
  return { resetCount: clockInfo.resetCount, restartCount: clockInfo.restartCount };
}

/** Shutdown(STATE), _TPM_Init through swtpm's control channel, then Startup(CLEAR) (Restart) or Startup(STATE) (Resume). */
async function restartTpm(swtpm: SwtpmInstance, tpm: Tpm, startup: 'CLEAR' | 'STATE'): Promise<void> {
  await tpm.execute(Shutdown, { shutdownType: TPM_SU.STATE });
  const control = swtpm.control();
  try {
    await control.init();
  } finally {
    await control.close();
  }
  await tpm.execute(Startup, { startupType: TPM_SU[startup] });
}

async function pcr13(tpm: Tpm): Promise<string> {
  const { values } = await readPcrs(tpm, [{ hashAlg: TPM_ALG.SHA256, pcrs: [13] }]);
  return Buffer.from(values.get(TPM_ALG.SHA256)!.get(13)!).toString('hex');
}

/** The SHA-256 model PCR value the log's entries replay to from zero. */
function replay(log: ModelMeasurementLog): string {
  let value = Buffer.alloc(32);
  for (const m of log.measurements()) value = createHash('sha256').update(value).update(m.extend.sha256).digest();
  return value.toString('hex');
}

describe('ModelMeasurementLog across a TPM Restart and a Resume', () => {
  let swtpm: SwtpmInstance;
  let tpm: Tpm;
  let ak: AttestationKey;
  const state = () => join(tmp.path, 'log-state');
  const model = () => join(tmp.path, 'model.onnx');

  beforeAll(async () => {
    swtpm = await startSwtpm();
    tpm = swtpm.connect();
    await writeFile(model(), randomBytes(10_000));
  });
  afterAll(async () => {
    await ak?.release().catch(() => undefined);
    await tpm?.close();
    await swtpm?.stop();
  });

  it('a Restart (model PCR zero, restartCount up, resetCount not) starts the log over and the models are measured again', async () => {
    const log = await ModelMeasurementLog.open(tpm, state());
    await log.measureModels([model()]);
    expect(await pcr13(tpm)).toBe(replay(log));
    const before = await counters(tpm);

    await restartTpm(swtpm, tpm, 'CLEAR');
    const after = await counters(tpm);
    expect(after).toEqual({ resetCount: before.resetCount, restartCount: before.restartCount + 1 });
    expect(await pcr13(tpm)).toBe('00'.repeat(32));

    expect(await log.followTpm()).toBe('restart');
    expect(log.length).toBe(0);
    expect(log.restartedAt).toBe(after.restartCount);
    expect(await log.measureModels([model()])).toHaveLength(1);
    expect(await pcr13(tpm)).toBe(replay(log));
    expect(log.length).toBe(1);
    expect(JSON.parse(await readFile(join(state(), MODEL_LOG_FILE), 'utf8'))).toMatchObject({ resetCount: before.resetCount, restartCount: after.restartCount, restartedAt: after.restartCount });
  });

  it('a Resume (PCRs restored) keeps the log', async () => {
    const log = await ModelMeasurementLog.open(tpm, state());
    const entries = log.length;
    const value = await pcr13(tpm);
    await restartTpm(swtpm, tpm, 'STATE');
    expect(await pcr13(tpm)).toBe(value);
    expect(await log.followTpm()).toBeUndefined();
    expect(log.length).toBe(entries);
    expect(await log.measureModels([model()])).toEqual([]);
  });

  it('a log reopened after a Restart that happened while the agent was not running starts over instead of refusing the PCR', async () => {
    expect((await ModelMeasurementLog.open(tpm, state())).length).toBe(1);
    await restartTpm(swtpm, tpm, 'CLEAR');
    const log = await ModelMeasurementLog.open(tpm, state());
    expect(log.length).toBe(0);
    expect(log.restartedAt).toBe((await counters(tpm)).restartCount);
  });

  it('evidence after the log started over sends it from entry 0, whatever offset the server names', async () => {
    const log = await ModelMeasurementLog.open(tpm, state());
    await log.measureModels([model()]);
    ak = await prepareAttestationKey(tpm, 'rsa');
    const challenge = {
      v: 1 as const,
      challengeId: randomBytes(16).toString('hex'),
      nonce: randomBytes(32).toString('hex'),
      pcrSelection: { sha256: [13] },
      offsets: { imaEntries: 0, modelEntries: 1 },
      expiresAt: Date.now() + 30_000,
    };
    const { evidence, report } = await buildEvidence(challenge, { tpm, ak: ak.ak, bootLogPath: null, imaLog: null, modelLog: log });
    expect(report.modelEntries).toEqual({ offset: 0, count: 1, total: 1 });
    expect(evidence.modelLog?.offset).toBe(0);
  });
});

describe('the agent daemon across a TPM Restart', () => {
  let swtpm: SwtpmInstance;
  let proxy: FaultProxy;
  let server: TestServer;
  let agent: AgentProcess;
  let deviceId: string;
  const dir = () => join(tmp.path, 'device');
  const verdict = (status: string, after: number) => (l: AgentLogLine) => l.msg === 'verdict' && l.status === status && Date.parse(String(l.time)) >= after;

  beforeAll(async () => {
    swtpm = await startSwtpm({ transport: 'tcp' });
    proxy = await FaultProxy.start(swtpm.port!);
    server = await startTestServer({ root: tmp.path, tpms: [swtpm] });
    await mkdir(join(dir(), 'models'), { recursive: true });
    await writeFile(join(dir(), 'models', 'detector.onnx'), randomBytes(20_000));
    await writeFile(join(dir(), 'models', 'labels.txt'), 'cat\ndog\n');
  });
  afterAll(async () => {
    await agent?.stop('SIGKILL');
    await server?.stop();
    await proxy?.close();
    await swtpm?.stop();
  });

  it('re-measures its models after the Restart and stays affirming (the server sees a restart, not a tampered model log)', async () => {
    agent = startAgent([
      ...agentRunArgs({ server: server.url, ca: server.caFile, tpm: `swtpm:host=127.0.0.1,port=${proxy.port}`, state: join(dir(), 'state'), models: join(dir(), 'models') }),
      '--token',
      await server.newToken(),
      '--tpm-health-poll-seconds',
      '1',
      '--log-level',
      'debug',
    ]);
    await agent.waitFor(verdict('affirming', 0), 'an affirming verdict');
    deviceId = (await readEnrollment(join(dir(), 'state')))!.deviceId;
    const before = (await server.store.getDevice(deviceId))!.tpmClock!;

    // Take the TPM from the agent (its connection dropped, new ones refused), restart it, give it back.
    proxy.refuse(true);
    proxy.cut();
    const tpm = swtpm.connect();
    try {
      await restartTpm(swtpm, tpm, 'CLEAR');
      expect(await pcr13(tpm)).toBe('00'.repeat(32));
    } finally {
      await tpm.close();
    }
    const restartedAt = Date.now();
    proxy.refuse(false);

    await agent.waitFor(msg('TPM restart cleared the model PCR: model log started over'), 'the restart noticed');
    const after = await agent.waitFor(verdict('affirming', restartedAt), 'an affirming verdict after the restart');
    expect(after.status).toBe('affirming');
    const device = (await server.store.getDevice(deviceId))!;
    expect(device.revoked).toBe(false);
    expect(device.tpmClock).toMatchObject({ resetCount: before.resetCount, restartCount: before.restartCount + 1 });
    // The verdict after the restart verified both model files from the log's new start.
    const latest = (await server.store.listAttestations(deviceId, 1))[0]!;
    expect(latest.status).toBe('affirming');
    const reasons = Object.values(latest.verdict?.submods ?? {}).flatMap((s) => s?.['vigil.reasons'] ?? []).map((r) => r.code);
    expect(reasons).not.toContain('model-log-mismatch');
  });
});
