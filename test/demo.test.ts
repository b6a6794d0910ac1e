/**
 * The demo a newcomer runs (`vigil-server demo`, the same as `npm run demo`),
 * run non-interactively from the built CLI, judged by what the server
 * recorded, never by what it printed: the SQLite database it leaves in
 * `--data` is opened read-only afterwards. Also: it stops everything it
 * started, and refuses bad arguments before starting anything.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from './harness/pki.js';

const SERVER_CLI = join(import.meta.dirname, '..', 'server', 'dist', 'cli', 'vigil-server.cjs');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runCli(args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SERVER_CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Processes whose command line mentions `path` (swtpm's --tpmstate, an agent's --config). */
function processesUsing(path: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmdline.includes(path)) found.push(`${pid}: ${cmdline.slice(0, 200)}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

let tmp: { path: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  tmp = await makeTempDir('vigil-demo-test-');
});
afterAll(async () => {
  await tmp?.cleanup();
});

describe('vigil-server demo --data DIR --no-color', () => {
  let data: string;
  let run: Run;
  let db: BetterSqlite3.Database;

  beforeAll(async () => {
    data = join(tmp.path, 'data');
    run = await runCli(['demo', '--data', data, '--no-color']);
    db = new BetterSqlite3(join(data, 'vigil.db'), { readonly: true, fileMustExist: true });
  }, 300_000);
  afterAll(() => {
    db?.close();
  });

  it('exits 0', () => {
    expect(run.code, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`).toBe(0);
  });

  it('left three enrolled devices: two affirming, one contraindicated and revoked', () => {
    const devices = db.prepare('SELECT id, status, revoked FROM devices ORDER BY id').all() as Array<{ id: string; status: string; revoked: number }>;
    expect(devices).toHaveLength(3);
    const revoked = devices.filter((d) => d.revoked === 1);
    const trusted = devices.filter((d) => d.revoked === 0);
    expect(trusted.map((d) => d.status)).toEqual(['affirming', 'affirming']);
    expect(revoked).toHaveLength(1);
    expect(revoked[0]!.status).toBe('contraindicated');

    // Revoked by the verifier because of the verdict, not by an operator or for staleness.
    const revocations = db.prepare('SELECT device_id AS deviceId, reason, reinstated_at AS reinstatedAt FROM revocations').all();
    expect(revocations).toEqual([{ deviceId: revoked[0]!.id, reason: 'contraindicated', reinstatedAt: null }]);
    // Every certificate of the revoked device is revoked; the others' are not.
    const certificates = db.prepare('SELECT device_id AS deviceId, revoked_at AS revokedAt FROM certificates').all() as Array<{ deviceId: string; revokedAt: number | null }>;
    for (const c of certificates) expect(c.revokedAt !== null, c.deviceId).toBe(c.deviceId === revoked[0]!.id);
  });

  it('revoked the tampered device for its model file, and every device was affirming under the captured policy before', () => {
    const [victim] = db.prepare('SELECT id FROM devices WHERE revoked = 1').all() as Array<{ id: string }>;
    const history = (id: string) =>
      db.prepare('SELECT status, reasons, policy_name AS policy FROM attestations WHERE device_id = ? ORDER BY id DESC').all(id) as Array<{ status: string; reasons: string; policy: string | null }>;
    const last = history(victim!.id)[0]!;
    expect(last.status).toBe('contraindicated');
    const reasons = JSON.parse(last.reasons) as Array<{ submodule: string; code: string; message: string }>;
    expect(reasons.map((r) => `${r.submodule}/${r.code}`)).toEqual(['models/model-digest-not-allowed']);
    expect(reasons[0]!.message).toContain('detector.onnx');

    const policies = db.prepare('SELECT name FROM policies').all() as Array<{ name: string }>;
    expect(policies.length).toBeGreaterThan(0);
    const devices = db.prepare('SELECT id FROM devices').all() as Array<{ id: string }>;
    for (const { id } of devices) {
      const underPolicy = history(id).filter((a) => a.policy !== null);
      expect(underPolicy.some((a) => a.status === 'affirming'), id).toBe(true);
    }
  });

  it('stopped every process it started', () => {
    expect(processesUsing(data)).toEqual([]);
  });
});

describe('bad arguments are refused before anything starts', () => {
  it('a --data directory that is not empty', async () => {
    const used = join(tmp.path, 'used');
    await mkdir(used);
    await writeFile(join(used, 'precious.txt'), 'keep me');
    const r = await runCli(['demo', '--data', used, '--no-color']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not empty/);
    expect(readdirSync(used)).toEqual(['precious.txt']);
  });

  it('a device count out of range', async () => {
    for (const n of ['0', '17', 'three']) {
      const r = await runCli(['demo', '--devices', n, '--data', join(tmp.path, `n-${n}`)]);
      expect(r.code, n).toBe(2);
      expect(r.stderr).toMatch(/--devices/);
    }
  });
});
