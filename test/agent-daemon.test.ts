/**
 * The agent daemon end to end: the built `vigil-agent run` as a child
 * process (as systemd runs it), real swtpms, the real Vigil server
 * (registrar, verifier, revocation) in-process, real mutual TLS.
 *
 * Device A: fresh enrollment with a token, then the server killed and
 * restarted, then swtpm restarted (a reboot the server records).
 * Device B: enrolled, restarted (kill -9) and reusing its AK and certificate,
 * then a model file changed by one byte: contraindicated, disconnected,
 * revoked; the agent runs its hook once, exits 6 and stays stopped.
 * Device C: its TPM cleared (another endorsement seed behind the same URI):
 * detected; without a token it stops (exit 4), with one it enrolls again.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentRunArgs, msg, startAgent, type AgentLogLine, type AgentProcess } from '../agent/test/helpers/agent-process.js';
import { startTestServer, type TestServer } from '../agent/test/helpers/server.js';
import { readStatusFile } from '../agent/src/daemon/status-file.js';
import type { AgentStatus } from '../agent/src/daemon/status-schema.js';
import { loadEnrolledIdentity, readEnrollment, saveEnrollment } from '../agent/src/state/index.js';
import { Revocations } from '../server/src/revocation/service.js';
import { makeTempDir } from './harness/pki.js';
import { startSwtpm, type SwtpmInstance } from './harness/swtpm.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let tpmA: SwtpmInstance;
let tpmB: SwtpmInstance;
let tpmC: SwtpmInstance;
let tpmD: SwtpmInstance;
let server: TestServer;
const agents: AgentProcess[] = [];

beforeAll(async () => {
  tmp = await makeTempDir('vigil-agent-e2e-');
  // Device B gets a TPM of its own manufacture: TPMs from one template share their EK (one device id).
  [tpmA, tpmB, tpmC, tpmD] = await Promise.all([startSwtpm(), startSwtpm({ fresh: true }), startSwtpm({ fresh: true }), startSwtpm({ fresh: true })]);
  server = await startTestServer({ root: tmp.path, tpms: [tpmA, tpmB, tpmC, tpmD] });
});

afterAll(async () => {
  for (const a of agents) await a.stop('SIGKILL');
  await server?.stop();
  await tpmA?.stop();
  await tpmB?.stop();
  await tpmC?.stop();
  await tpmD?.stop();
  await tmp?.cleanup();
});

interface Device {
  readonly name: string;
  readonly tpm: () => SwtpmInstance;
  readonly state: string;
  readonly models: string;
  readonly hookLog: string;
}

/** Paths are resolved lazily: the temp dir exists only once beforeAll ran. */
function device(name: string, tpm: () => SwtpmInstance): Device {
  const dir = () => join(tmp.path, name);
  return {
    name,
    tpm,
    get state() {
      return join(dir(), 'state');
    },
    get models() {
      return join(dir(), 'models');
    },
    get hookLog() {
      return join(dir(), 'hook.log');
    },
  };
}

/** `vigil-agent run` for a device, with test-speed timings; extra flags appended. */
function start(d: Device, extra: string[] = []): AgentProcess {
  const agent = startAgent([
    ...agentRunArgs({ server: server.url, ca: server.caFile, tpm: d.tpm().uri, state: d.state, models: d.models }),
    '--reconnect-initial-delay-ms',
    '200',
    '--reconnect-max-delay-ms',
    '2000',
    '--tpm-health-poll-seconds',
    '1',
    '--revoked-hook',
    `echo "revoked $VIGIL_DEVICE_ID: $VIGIL_REVOCATION_REASON" >> '${d.hookLog}'`,
    '--log-level',
    'debug',
    ...extra,
  ]);
  agents.push(agent);
  return agent;
}

const verdict = (status: string) => (l: AgentLogLine) => l.msg === 'verdict' && l.status === status;
const after = (t: number, match: (l: AgentLogLine) => boolean) => (l: AgentLogLine) => Date.parse(String(l.time)) >= t && match(l);
/** The agent's status file once `ready` holds (it is rewritten within moments of each change). */
async function statusWhen(state: string, ready: (s: AgentStatus) => boolean): Promise<AgentStatus> {
  for (;;) {
    const s = await readStatusFile(state).catch(() => undefined);
    if (s !== undefined && ready(s)) return s;
    await new Promise((r) => setTimeout(r, 25));
  }
}
const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

describe('device A: enrollment, server restart, TPM reset', () => {
  const a = device('a', () => tpmA);
  let agent: AgentProcess;
  let deviceId: string;

  it('enrolls a fresh agent with a token and reaches affirming with no manual step', async () => {
    await mkdir(a.models, { recursive: true });
    await writeFile(join(a.models, 'weights.bin'), 'weights v1');
    await writeFile(join(a.models, 'config.json'), '{"layers": 2}');
    agent = start(a, ['--token', await server.newToken()]);
    await agent.waitFor(msg('enrolled'), 'enrolled');
    await agent.waitFor(verdict('affirming'), 'an affirming verdict');
    deviceId = (await readEnrollment(a.state))!.deviceId;
    const record = await server.store.getDevice(deviceId);
    expect(record?.status).toBe('affirming');
    expect(record?.revoked).toBe(false);
    // The model log the server appraised holds both files, measured once.
    const attestations = await server.store.listAttestations(deviceId, 5);
    expect(attestations[0]?.status).toBe('affirming');
    // The status file follows within moments (writes are coalesced).
    const status = await statusWhen(a.state, (s) => s.lastVerdict !== undefined);
    expect(status.connection.state).toBe('connected');
    expect(status.models.files).toBe(2);
    expect(status.lastVerdict?.status).toBe('affirming');
    expect(status.enrollment).toMatchObject({ enrolled: true, deviceId });
  });

  it('reconnects and attests again after the server is killed and restarted', async () => {
    const before = (await server.store.listAttestations(deviceId, 100)).length;
    await server.stop();
    await agent.waitFor(msg('disconnected from the server'), 'the disconnect');
    const restartedAt = Date.now();
    await server.start();
    await agent.waitFor(after(restartedAt, msg('connected to the server')), 'a reconnect');
    await agent.waitFor(after(restartedAt, verdict('affirming')), 'an affirming verdict after the restart');
    expect((await server.store.listAttestations(deviceId, 100)).length).toBeGreaterThan(before);
    // Backoff, not a busy loop: the attempts while the server was down are few.
    const attempts = agent.matching(after(restartedAt - 60_000, msg('reconnecting after a delay'))).length;
    expect(attempts).toBeLessThan(20);
  });

  it('recovers when swtpm restarts (a TPM reset) and the server records the reboot', async () => {
    const resetBefore = (await server.store.getDevice(deviceId))!.tpmClock!.resetCount;
    const t = Date.now();
    await tpmA.restart();
    await agent.waitFor(after(t, msg('TPM reset detected (reboot or simulator restart): PCRs start over')), 'the TPM reset');
    // The model PCR is zero again: every model file is measured again, then the server gets a boot challenge request.
    await agent.waitFor(after(t, (l) => l.msg === 'model files changed and re-measured' || l.msg === 'model files measured'), 'the re-measurement');
    await agent.waitFor(after(t, verdict('affirming')), 'an affirming verdict after the reset');
    const record = await server.store.getDevice(deviceId);
    expect(record!.tpmClock!.resetCount).toBeGreaterThan(resetBefore);
    const reasons = (await server.store.listAttestations(deviceId, 20)).flatMap((x) => x.reasons.map((r) => r.code));
    expect(reasons).toContain('tpm-reboot');
    expect(record!.revoked).toBe(false);
  });

  it('stops cleanly on SIGTERM with exit 0 and says so in its status', async () => {
    const { code } = await agent.stop('SIGTERM');
    expect(code).toBe(0);
    const status = await statusWhen(a.state, (s) => s.stopped !== undefined);
    expect(status.connection.state).toBe('stopped');
    expect(status.stopped?.exitCode).toBe(0);
  });

  it('keeps the renewed certificate an affirming verdict brings and reconnects with it', async () => {
    // Put the device's certificate in the last third of its life (as after 16 h of a 24 h certificate).
    const identity = await loadEnrolledIdentity(a.state);
    const short = server.running.context.ca.issueDeviceCertificate({ publicKey: createPrivateKey(identity.keyPem), deviceId, validityMs: 3_600_000, now: new Date(Date.now() - 50 * 60_000) });
    await server.store.addCertificate({ serial: short.serial, deviceId, notBefore: short.notBefore.getTime(), notAfter: short.notAfter.getTime(), pem: short.pem }, 'test');
    await saveEnrollment(a.state, { record: { ...identity.record, certificate: { serial: short.serial, notAfter: short.notAfter.getTime() } }, certificatePem: short.pem, caPem: identity.caPem });

    const t = Date.now();
    agent = start(a);
    const renewed = await agent.waitFor(after(t, msg('device certificate renewed')), 'the renewal');
    await agent.waitFor(after(Date.parse(String(renewed.time)), msg('connected to the server')), 'a reconnect with the new certificate');
    const record = (await readEnrollment(a.state))!;
    expect(record.certificate.serial).not.toBe(short.serial);
    expect(record.certificate.serial).toBe(renewed.serial);
    expect(record.certificate.notAfter).toBeGreaterThan(short.notAfter.getTime());
    const onDisk = new X509Certificate(await readFile(join(a.state, 'device.pem'), 'utf8'));
    expect(Date.parse(onDisk.validTo)).toBe(record.certificate.notAfter);
    expect((await server.store.getCertificate(record.certificate.serial))?.deviceId).toBe(deviceId);
    await agent.waitFor(after(Date.parse(String(renewed.time)), verdict('affirming')), 'an affirming verdict on the new certificate');
  });

  it('stops for good when an administrator revokes it: hook once, exit 6', async () => {
    const revocations = server.running.context.services.get(Revocations)!;
    await revocations.revoke(deviceId, 'admin', 'test', 'taken out of service');
    const { code } = await agent.exited;
    expect(code).toBe(6);
    expect((await readFile(a.hookLog, 'utf8')).trim().split('\n')).toHaveLength(1);
    const status = await statusWhen(a.state, (s) => s.revoked !== undefined);
    expect(status.revoked?.source).toBe('connection-refused');
  });
});

describe('device B: restart without re-enrollment, then a tampered model', () => {
  const b = device('b', () => tpmB);
  let deviceId: string;
  let model: string;

  it('reuses its AK and certificate when killed and restarted (no second enrollment)', async () => {
    await mkdir(b.models, { recursive: true });
    model = join(b.models, 'detector.onnx');
    await writeFile(model, Buffer.alloc(64 * 1024, 7));
    const token = await server.newToken();
    const first = start(b, ['--token', token]);
    await first.waitFor(verdict('affirming'), 'an affirming verdict');
    const enrolled = (await readEnrollment(b.state))!;
    deviceId = enrolled.deviceId;
    const device = (await server.store.getDevice(deviceId))!;
    const certificates = await server.store.listCertificates(deviceId);

    // Golden values for this device: its model file as it is now (what `policy capture` records).
    await server.store.createPolicyVersion({ name: 'b-models', document: { v: 1, models: { allowed: { [model]: [await sha256(model)] }, fleetAllowlist: false } }, actor: 'test' });
    expect((await server.store.assignPolicy({ target: { kind: 'device', deviceId }, policyName: 'b-models', actor: 'test' })).ok).toBe(true);
    await server.reloadPolicies();

    await first.stop('SIGKILL');
    const restartedAt = Date.now();
    const second = start(b); // no token: it must not need one
    await second.waitFor(after(restartedAt, verdict('affirming')), 'an affirming verdict under the policy');
    expect(second.matching(msg('enrolling'))).toEqual([]);
    // Same TPM boot, model untouched: the restarted agent trusts its earlier measurement instead of hashing again.
    expect(second.matching(msg('model files unchanged since the last run: not hashed again'))[0]?.files).toBe(1);
    expect(second.matching(msg('model files measured'))).toEqual([]);
    const again = (await server.store.getDevice(deviceId))!;
    expect(Buffer.from(again.akPublic)).toEqual(Buffer.from(device.akPublic));
    expect((await server.store.listDevices()).filter((d) => d.ekName === device.ekName)).toHaveLength(1);
    expect((await readEnrollment(b.state))!.certificate.serial).toBe(enrolled.certificate.serial);
    expect(await server.store.listCertificates(deviceId)).toHaveLength(certificates.length);
    const latest = (await server.store.listAttestations(deviceId, 1))[0]!;
    expect(latest.policy?.name).toBe('b-models');
    expect(latest.status).toBe('affirming');
  });

  it('is contraindicated, disconnected and revoked when one byte of a watched model changes; runs its hook once and exits 6', async () => {
    const agent = agents.at(-1)!;
    const bytes = await readFile(model);
    bytes[1000] = bytes[1000]! ^ 0xff;
    const writtenAt = Date.now();
    await writeFile(model, bytes);

    await agent.waitFor(after(writtenAt, msg('model files changed and re-measured')), 'the re-measurement');
    await agent.waitFor(after(writtenAt, verdict('contraindicated')), 'a contraindicated verdict');
    const closed = await server.logs.waitFor((l) => l.msg === 'session closed by server' && l.reason === 'revoked' && Date.parse(String(l.time)) >= writtenAt);
    const disconnectedAt = Date.parse(String(closed.time));
    console.log(`tamper → disconnect: ${disconnectedAt - writtenAt} ms (write of one byte to the session closed by the server)`);

    const { code } = await agent.exited;
    expect(code).toBe(6);
    expect((await server.store.getDevice(deviceId))!.revoked).toBe(true);
    const attestation = (await server.store.listAttestations(deviceId, 1))[0]!;
    expect(attestation.status).toBe('contraindicated');
    expect(attestation.reasons.some((r) => r.submodule === 'models')).toBe(true);
    const hook = await readFile(b.hookLog, 'utf8');
    expect(hook.trim().split('\n')).toHaveLength(1);
    expect(hook).toContain(`revoked ${deviceId}:`);
    const status = await statusWhen(b.state, (s) => s.revoked !== undefined);
    expect(status.connection.state).toBe('revoked');
    expect(status.revoked).toBeDefined();
  });

  it('stays stopped when started again: exit 6 at once, no connection, no second hook run', async () => {
    // Refused at the handshake (the subject names the device) or at CONNECT (deviceId field).
    const refused = (l: { msg?: string; reason?: string }) => l.msg === 'client refused' && l.reason === 'revoked' && JSON.stringify(l).includes(deviceId);
    const refusalsBefore = server.logs.lines.filter(refused).length;
    expect(refusalsBefore).toBe(1); // the one reconnect attempt that told the agent it was revoked
    const again = start(b);
    const { code } = await again.exited;
    expect(code).toBe(6);
    expect(again.matching(msg('connected to the server'))).toEqual([]);
    expect(server.logs.lines.filter(refused).length).toBe(refusalsBefore);
    expect((await readFile(b.hookLog, 'utf8')).trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(b.state, 'revoked.json'))).toBe(true);
  });
});

describe('device C: the TPM was cleared', () => {
  // The TPM behind the agent's --tpm URI changes from C to D: a different endorsement seed, as after a clear.
  let tpm = () => tpmC;
  const c = device('c', () => tpm());
  let firstId: string;

  it('detects the cleared TPM and stops with exit 4 when it has no token to enroll again', async () => {
    await mkdir(c.models, { recursive: true });
    await writeFile(join(c.models, 'm.bin'), 'model');
    const first = start(c, ['--token', await server.newToken()]);
    await first.waitFor(verdict('affirming'), 'an affirming verdict');
    firstId = (await readEnrollment(c.state))!.deviceId;
    expect((await first.stop('SIGTERM')).code).toBe(0);

    tpm = () => tpmD;
    const cleared = start(c);
    expect((await cleared.exited).code).toBe(4);
    expect(cleared.matching((l) => String(l.msg).startsWith('TPM CLEARED OR REPLACED'))).toHaveLength(1);
    expect((await readEnrollment(c.state))!.deviceId).toBe(firstId);
  });

  it('enrolls again with a token: a new AK under the new EK, a new device, affirming', async () => {
    const oldAk = await readFile(join(c.state, 'ak.pub'));
    const again = start(c, ['--token', await server.newToken()]);
    await again.waitFor(msg('enrolled'), 'the new enrollment');
    await again.waitFor(verdict('affirming'), 'an affirming verdict');
    const record = (await readEnrollment(c.state))!;
    expect(record.deviceId).not.toBe(firstId);
    expect(Buffer.compare(await readFile(join(c.state, 'ak.pub')), oldAk)).not.toBe(0);
    expect((await server.store.getDevice(record.deviceId))?.status).toBe('affirming');
    expect((await again.stop('SIGTERM')).code).toBe(0);
  });
});
