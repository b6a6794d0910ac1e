/**
 * Issue 9, storage faults: the server's data directory on a small tmpfs
 * (mounted by the test; it needs root, which the CI runs as) that is
 * filled to the last byte while the server runs, then remounted read-only
 * while it is stopped. While the disk is full, evidence is refused with a
 * clear error result (never a verdict that was not stored, never silence)
 * and the reason is logged; on a read-only file system the server refuses to
 * start, naming it. What was stored stays intact; once the fault clears the
 * server works again, SQLite's integrity check passes and the audit chain
 * verifies.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, statfs, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { randomId, type AttestationResult } from '@vigil/protocol';
import { enrollSimDevices, initDataDir, simEvidence, SimDevice, startSimServer, type SimServer } from './harness/sim-fleet.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'server', 'dist', 'cli', 'vigil-server.cjs');

let mountPoint: string;
let mounted = false;
let env: SimServer | undefined;
const devices: SimDevice[] = [];

async function tryMount(): Promise<boolean> {
  mountPoint = await mkdtemp(join(tmpdir(), 'vigil-tmpfs-'));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', 'size=16m,mode=0700', 'tmpfs', mountPoint]);
    return true;
  } catch {
    return false;
  }
}

async function device(): Promise<SimDevice> {
  const [id] = await enrollSimDevices(env!.store, env!.ca, 1, 'disk');
  const d = new SimDevice(id!);
  await d.connect(env!.port, env!.ca.certificatePem);
  devices.push(d);
  return d;
}

/** Writes zeros until the file system says it is full. */
async function fillDisk(path: string): Promise<void> {
  const s = await statfs(mountPoint);
  await writeFile(path, Buffer.alloc(Number(s.bavail) * Number(s.bsize))).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOSPC') throw err;
  });
  for (;;) {
    try {
      await writeFile(path, Buffer.alloc(4096), { flag: 'a' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return;
      throw err;
    }
  }
}

function status(r: AttestationResult): string {
  if (!r.ok) return `error:${r.error}`;
  const order = ['affirming', 'none', 'warning', 'contraindicated'];
  return Object.values(r.verdict.submods).reduce((w, s) => (order.indexOf(s!['ear.status']) > order.indexOf(w) ? s!['ear.status'] : w), 'affirming');
}

/** What the database holds, read with a separate read-only connection. */
async function openReadOnly(path: string): Promise<{ attestations: number }> {
  const db = new Database(path, { readonly: true });
  try {
    return { attestations: (db.prepare('SELECT count(*) AS n FROM attestations').get() as { n: number }).n };
  } finally {
    db.close();
  }
}

async function intact(): Promise<void> {
  const db = new Database(env!.paths.database, { readonly: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  } finally {
    db.close();
  }
  expect((await env!.store.verifyAuditChain()).ok).toBe(true);
}

beforeAll(async () => {
  mounted = await tryMount();
  if (!mounted) return;
  const paths = await initDataDir(mountPoint);
  env = await startSimServer({
    paths,
    root: mountPoint,
    overrides: [
      { path: 'attestation.intervalSeconds', value: 3600, flag: 'test' },
      // The disk-full test answers stored challenges back to back: faster than a device's default publish limit.
      { path: 'limits.publishRatePerSecond', value: 1000, flag: 'test' },
      { path: 'limits.publishBurst', value: 1000, flag: 'test' },
    ],
  });
});

afterAll(async () => {
  for (const d of devices) d.close();
  await env?.stop();
  if (mounted) await run('umount', ['-l', mountPoint]).catch(() => undefined);
  await rm(mountPoint, { recursive: true, force: true });
});

describe.skipIf(process.getuid?.() !== 0)('storage faults (tmpfs, needs root)', () => {
  it('the disk fills up: evidence is refused with internal-error naming the storage, nothing stored is lost, and work resumes once space is freed', async () => {
    if (!mounted) throw new Error(`could not mount a tmpfs on ${mountPoint} (this test needs root with CAP_SYS_ADMIN)`);
    const d = await device();
    const before = await d.attest();
    expect(status(before)).toBe('affirming');
    const challenge = await d.freshChallenge();
    // Challenges for the whole run are stored while there is room, as the issuer would store them
    // (same selection and offsets): with the disk full, storing a new challenge could be what fails
    // first, and the device would get no challenge to answer. Every one left is then answered, so it
    // is the evidence's writes (consume, record) that meet the full disk.
    const challenges = [challenge];
    for (let i = 1; i < 200; i++) {
      const c = { ...challenge, challengeId: randomId(), nonce: randomBytes(32).toString('hex') };
      await env!.store.createChallenge({ id: c.challengeId, deviceId: d.deviceId, nonce: Buffer.from(c.nonce, 'hex'), pcrSelection: c.pcrSelection, offsets: c.offsets, expiresAt: c.expiresAt });
      challenges.push(c);
    }
    const filler = join(mountPoint, 'filler');
    await fillDisk(filler);
    try {
      // Enough evidence to need new pages whatever room the WAL file still had.
      let refused: AttestationResult | undefined;
      for (const c of challenges) {
        await d.publishEvidence(simEvidence(d.tpm, c));
        const r = await d.results.take((x) => x.challengeId === c.challengeId || (!x.ok && x.challengeId === undefined));
        if (!r.ok) refused = r;
        if (refused !== undefined) break;
      }
      expect(refused).toMatchObject({ ok: false, error: 'internal-error' });
      expect(refused!.ok === false && refused!.message).toMatch(/storage/);
      await env!.logs.waitFor((l) => (l.level ?? 0) >= 50 && JSON.stringify(l).includes('full'));
    } finally {
      await unlink(filler);
    }
    await intact();
    const history = await env!.store.listAttestations(d.deviceId, 1000);
    expect(history.some((h) => h.challengeId === (before.ok ? before.challengeId : ''))).toBe(true);
    expect(status(await d.attest())).toBe('affirming');
    await intact();
  }, 120_000);

  it('the data directory is read-only at start (a file system remounted ro): the server refuses to start with a clear error; once writable it starts and works', async () => {
    const d = await device();
    expect(status(await d.attest())).toBe('affirming');
    const paths = env!.paths;
    d.close();
    await env!.stop();
    env = undefined;
    const countBefore = (await openReadOnly(paths.database)).attestations;
    // A file system can be made read-only only while nothing has it open for writing (the kernel refuses otherwise).
    await run('mount', ['-o', 'remount,ro', mountPoint]);
    try {
      const refused = await startSimServer({ paths, root: mountPoint }).then(
        (s) => s,
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(Error);
      expect((refused as Error).message).toMatch(/read-only|EROFS/i);
      // `vigil-server start` exits 3 (file, data directory or database error) with this message.
      expect((refused as { exitCode?: number }).exitCode).toBe(3);
    } finally {
      await run('mount', ['-o', 'remount,rw', mountPoint]);
    }
    env = await startSimServer({ paths, root: mountPoint, overrides: [{ path: 'attestation.intervalSeconds', value: 3600, flag: 'test' }] });
    expect((await openReadOnly(paths.database)).attestations).toBe(countBefore);
    const again = new SimDevice(d.identity);
    devices.push(again);
    await again.connect(env.port, env.ca.certificatePem);
    expect(status(await again.attest())).toBe('affirming');
    await intact();
    const audit = await run(process.execPath, [CLI, 'audit', 'verify', '--data', paths.root]);
    expect(audit.stdout.length).toBeGreaterThan(0);
  }, 120_000);
});
