import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashEnrollmentToken, openSqliteStore } from '../src/store/index.js';

/** `vigil-server token ...` and `vigil-server audit ...`, run as the built CLI against a real database file. */

const cli = fileURLToPath(new URL('../dist/cli/vigil-server.cjs', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'vigil-store-cli-'));
const data = join(root, 'data');
const database = join(data, 'vigil.db');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function vigil(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { env: { ...process.env, VIGIL_DATA: '' } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

interface TokenJson {
  id: number;
  state: string;
  label: string | null;
  uses: number;
  maxUses: number;
  deviceName: string | null;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
}

async function listTokens(): Promise<TokenJson[]> {
  const r = await vigil('token', 'list', '--data', data, '--json');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as TokenJson[];
}

beforeAll(async () => {
  mkdirSync(data, { mode: 0o700 });
  // `vigil-server init` (another module) creates the database this way.
  await (await openSqliteStore(database)).close();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('vigil-server token', () => {
  it('create prints the token alone and stores only its hash, with the options given', async () => {
    const r = await vigil('token', 'create', '--data', data, '--uses', '3', '--ttl', '1h30m', '--label', 'rack 4');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^vgl_[A-Za-z0-9_-]{43}\n$/);
    const token = r.stdout.trim();
    const listed = (await listTokens()).at(-1)!;
    expect(listed).toMatchObject({ state: 'active', label: 'rack 4', uses: 0, maxUses: 3, deviceName: null, revokedAt: null });
    expect(Date.parse(listed.expiresAt) - Date.parse(listed.createdAt)).toBeGreaterThanOrEqual(90 * 60_000 - 1000);
    expect(Date.parse(listed.expiresAt) - Date.parse(listed.createdAt)).toBeLessThanOrEqual(90 * 60_000);

    const store = await openSqliteStore(database);
    try {
      const check = await store.checkToken(hashEnrollmentToken(token), Date.now());
      expect(check.ok && check.token.id).toBe(listed.id);
      const entry = (await store.listAudit()).at(-1)!;
      expect(entry).toMatchObject({ action: 'token.create', subject: `token:${listed.id}` });
      expect(entry.actor).toMatch(/^cli:/);
      expect(JSON.stringify(entry)).not.toContain(token);
    } finally {
      await store.close();
    }

    // Neither listing ever shows a token value.
    const table = await vigil('token', 'list', '--data', data);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+STATE\s+USES\s+EXPIRES\s+DEVICE NAME\s+LABEL\n/);
    expect(table.stdout).toContain('rack 4');
    expect(table.stdout).not.toContain(token.slice(4, 20));
    expect((await vigil('token', 'list', '--data', data, '--json')).stdout).not.toContain(token.slice(4, 20));
  });

  it('defaults to one use, valid 24 hours; --device-name fixes the device id', async () => {
    const r = await vigil('token', 'create', '--data', data, '--device-name', 'camera-17');
    expect(r.code).toBe(0);
    const listed = (await listTokens()).at(-1)!;
    expect(listed).toMatchObject({ maxUses: 1, deviceName: 'camera-17', label: null });
    expect(Date.parse(listed.expiresAt) - Date.parse(listed.createdAt)).toBeGreaterThan(24 * 3600_000 - 1000);
    expect(Date.parse(listed.expiresAt) - Date.parse(listed.createdAt)).toBeLessThanOrEqual(24 * 3600_000);
  });

  it('revoke makes a token refuse enrollment', async () => {
    const token = (await vigil('token', 'create', '--data', data)).stdout.trim();
    const id = (await listTokens()).at(-1)!.id;
    const r = await vigil('token', 'revoke', String(id), '--data', data);
    expect(r.code).toBe(0);
    expect((await listTokens()).find((t) => t.id === id)!.state).toBe('revoked');
    const store = await openSqliteStore(database);
    expect(await store.checkToken(hashEnrollmentToken(token), Date.now())).toEqual({ ok: false, reason: 'revoked' });
    await store.close();
    expect((await vigil('token', 'revoke', String(id), '--data', data)).code).toBe(2);
  });

  it('refuses bad options with exit 2 and writes nothing', async () => {
    const before = (await listTokens()).length;
    const cases = [
      ['--uses', '0'],
      ['--uses', 'many'],
      ['--ttl', '5x'],
      ['--ttl', '0s'],
      ['--ttl', '400d'],
      ['--device-name', 'Bad/Name'],
      ['--device-name', 'cam-1', '--uses', '2'],
      ['--label', 'a\nb'],
    ];
    const runs = await Promise.all(cases.map((args) => vigil('token', 'create', '--data', data, ...args)));
    runs.forEach((r, i) => {
      expect(r.code, cases[i]!.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^vigil-server: --/);
    });
    expect((await listTokens()).length).toBe(before);
  });

  it('says to run init when there is no database (exit 3)', async () => {
    const r = await vigil('token', 'create', '--data', join(root, 'empty'));
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('vigil-server init');
  });
});

describe('vigil-server audit verify', () => {
  it('passes on an untouched database and fails naming the entry edited with sqlite3', async () => {
    const store = await openSqliteStore(database);
    const entries = (await store.verifyAuditChain()).entries;
    await store.close();
    expect(entries).toBeGreaterThanOrEqual(3);

    const ok = await vigil('audit', 'verify', '--data', data);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`^audit chain intact: ${entries} entries`));

    await promisify(execFile)('sqlite3', [database, `UPDATE audit_log SET subject = 'token:999' WHERE seq = 2`]);
    const broken = await vigil('audit', 'verify', '--data', data);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^audit chain broken at entry 2: /);

    const json = await vigil('audit', 'verify', '--data', data, '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, brokenSeq: 2, entries: 1 });

    const list = await vigil('audit', 'list', '--data', data, '--after', '1', '--limit', '1', '--json');
    expect((JSON.parse(list.stdout) as Array<{ seq: number; subject: string }>).map((e) => [e.seq, e.subject])).toEqual([[2, 'token:999']]);
  });

  it('exit 3 without a database', async () => {
    const r = await vigil('audit', 'verify', '--data', join(root, 'empty'));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('vigil-server init');
  });
});
