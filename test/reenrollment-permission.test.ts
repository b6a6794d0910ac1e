/**
 * Re-enrollment permission (`devices.allow-reenrollment`,
 * `vigil-server device allow-reenrollment <id>`): the registrar refuses a
 * TPM it already knows; an operator's command, run through the built CLI
 * against the running server (its admin API) or offline on the database,
 * lets that TPM enroll once more under the same device id. Before this
 * operation existed, only a revocation followed by a reinstatement could
 * let a re-imaged device back in.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enroll, EnrollmentError } from '../agent/src/enroll/index.js';
import { loadEnrolledIdentity } from '../agent/src/state/index.js';
import { startAttestationServer, type AttestationServer } from './harness/attestation.js';
import { startSwtpm, type SwtpmInstance } from './harness/swtpm.js';

const run = promisify(execFile);
const SERVER_CLI = join(import.meta.dirname, '..', 'server', 'dist', 'cli', 'vigil-server.cjs');

let swtpm: SwtpmInstance;
let env: AttestationServer;
let deviceId: string;
let firstSerial: string;
let serverStopped = false;

async function vigil(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [SERVER_CLI, ...args, '--data', env.paths.root]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Enrolls this test's TPM from a fresh state directory (a new bootstrap key and AK: a re-imaged device). */
async function enrollFrom(state: string): Promise<{ deviceId: string; serial: string }> {
  const dir = join(env.root, 'agents', state);
  const enrolled = await enroll({
    server: `mqtts://localhost:${env.server.port}`,
    caPem: env.server.context.ca.certificatePem,
    token: await env.newToken(),
    tpmUri: swtpm.uri,
    stateDir: dir,
  });
  return { deviceId: enrolled.deviceId, serial: (await loadEnrolledIdentity(dir)).record.certificate.serial };
}

async function refusalOf(state: string): Promise<string | undefined> {
  try {
    await enrollFrom(state);
  } catch (err) {
    if (err instanceof EnrollmentError) return err.reason;
    throw err;
  }
  throw new Error('expected the enrollment to be refused');
}

beforeAll(async () => {
  swtpm = await startSwtpm();
  env = await startAttestationServer({ swtpm });
  ({ deviceId, serial: firstSerial } = await enrollFrom('first'));
});

afterAll(async () => {
  if (serverStopped) await rm(env.root, { recursive: true, force: true });
  else await env?.stop();
  await swtpm?.stop();
});

describe('vigil-server device allow-reenrollment', () => {
  it('a known TPM is refused until an operator allows it; then it enrolls again under the same id and its old certificate is revoked', async () => {
    expect(await refusalOf('reimaged')).toBe('already-enrolled');
    expect((await env.store.getDevice(deviceId))?.reenrollAllowed).toBe(false);

    const allowed = await vigil('device', 'allow-reenrollment', deviceId);
    expect(allowed.stderr).toBe('');
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toContain(`device ${deviceId} may enroll again once`);
    expect((await env.store.getDevice(deviceId))?.reenrollAllowed).toBe(true);
    // Through the running server's admin API, as its local administrator, audited in the store's hash chain.
    const audit = (await env.store.listAudit({ limit: 100_000 })).filter((a) => a.action === 'device.allow-reenroll');
    expect(audit.map((a) => [a.actor, a.subject])).toEqual([['admin:local', `device:${deviceId}`]]);

    const again = await enrollFrom('reimaged');
    expect(again.deviceId).toBe(deviceId);
    expect(again.serial).not.toBe(firstSerial);
    const certificates = await env.store.listCertificates(deviceId);
    expect(certificates.find((c) => c.serial === firstSerial)?.revokedAt).not.toBeNull();
    expect(certificates.find((c) => c.serial === again.serial)?.revokedAt).toBeNull();
    expect((await env.store.getDevice(deviceId))?.reenrollAllowed).toBe(false);

    // The permission was for one enrollment.
    expect(await refusalOf('third')).toBe('already-enrolled');
  });

  it('names what it cannot do: an unknown device (not found) and a revoked one (reinstate instead), exit 2', async () => {
    const unknown = await vigil('device', 'allow-reenrollment', 'no-such-device');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no device no-such-device');

    const revoked = await env.store.revokeDevice({ deviceId, reason: 'admin', message: 'test', actor: 'test' });
    expect(revoked.ok).toBe(true);
    const refused = await vigil('device', 'allow-reenrollment', deviceId);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`device ${deviceId} is revoked: reinstate it`);
    expect((await env.store.getDevice(deviceId))?.reenrollAllowed).toBe(false);
    expect((await env.store.reinstateDevice({ deviceId, actor: 'test', message: null })).ok).toBe(true);
  });

  it('works offline on the database when no server runs, with the same output', async () => {
    // Reinstatement allowed one re-enrollment; use it up so the flag starts false again.
    await enrollFrom('after-reinstate');
    await env.server.stop();
    serverStopped = true;
    const offline = await vigil('device', 'allow-reenrollment', deviceId, '--json');
    expect(offline.code).toBe(0);
    expect(JSON.parse(offline.stdout)).toEqual({ id: deviceId, reenrollAllowed: true });
    const shown = await vigil('device', 'show', deviceId, '--json');
    expect((JSON.parse(shown.stdout) as { device: { reenrollAllowed: boolean } }).device.reenrollAllowed).toBe(true);
  });
});
