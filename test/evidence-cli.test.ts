// The built `vigil-agent eventlog` and `vigil-agent measure` commands, run as
// child processes: replay output identical to the fixtures' expected files,
// digests identical to sha256sum's, and the documented exit codes.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'agent', 'dist', 'cli', 'main.js');
const FIXTURES = join(import.meta.dirname, '..', '..', 'shared', 'fixtures', 'eventlogs');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function agent(...args: string[]): Promise<Result> {
  try {
    const r = await run('node', [CLI, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

async function sh(script: string, cwd: string): Promise<string> {
  return (await run('sh', ['-c', script], { cwd, encoding: 'utf8' })).stdout;
}

describe('vigil-agent eventlog', () => {
  it('replay --json prints exactly the expected PCR values of every fixture', async () => {
    const names = (await readdir(FIXTURES)).filter((f) => f.endsWith('.bin'));
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      const r = await agent('eventlog', 'replay', join(FIXTURES, name), '--json');
      expect(r.code, r.stderr).toBe(0);
      const expected = JSON.parse(await readFile(join(FIXTURES, name.replace(/\.bin$/, '.expected.json')), 'utf8'));
      expect(JSON.parse(r.stdout), name).toEqual(expected);
    }
  });

  it('replay without --json prints a table of the same values', async () => {
    const file = join(FIXTURES, 'tpm2-tools-uefivar.bin');
    const expected = JSON.parse(await readFile(file.replace(/\.bin$/, '.expected.json'), 'utf8')) as { pcrs: Record<string, Record<string, string>> };
    const r = await agent('eventlog', 'replay', file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('format: crypto-agile');
    for (const [bank, values] of Object.entries(expected.pcrs)) {
      for (const [index, hex] of Object.entries(values)) expect(r.stdout).toMatch(new RegExp(`^${bank}\\s+${index}\\s+${hex}$`, 'm'));
    }
  });

  it('show --json lists every event with its decoding and verification', async () => {
    const r = await agent('eventlog', 'show', join(FIXTURES, 'go-attestation-ubuntu-2104-gce.bin'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const events = JSON.parse(r.stdout) as { index: number; typeName: string; verification: string; decoded: { kind: string } }[];
    expect(events.map((e) => e.index)).toEqual(events.map((_, i) => i));
    expect(events[0]).toMatchObject({ typeName: 'EV_NO_ACTION', decoded: { kind: 'spec-id' } });
    const secureBoot = events.find((e) => e.typeName === 'EV_EFI_VARIABLE_DRIVER_CONFIG');
    expect(secureBoot).toMatchObject({ verification: 'verified', decoded: { kind: 'uefi-variable', variable: { name: 'SecureBoot' } } });
  });

  it('exits 3 for a missing file and for a truncated log, naming event and offset', async () => {
    const missing = await agent('eventlog', 'replay', join(FIXTURES, 'no-such-log.bin'));
    expect(missing.code).toBe(3);
    const dir = await mkdtemp(join(tmpdir(), 'vigil-cli-'));
    try {
      const cut = join(dir, 'cut.bin');
      await writeFile(cut, (await readFile(join(FIXTURES, 'tpm2-tools-bootorder.bin'))).subarray(0, 100));
      const r = await agent('eventlog', 'replay', cut, '--json');
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/event 1 at byte \d+: truncated/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('vigil-agent measure', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-measure-'));
    await mkdir(join(dir, 'model', 'shards'), { recursive: true });
    await writeFile(join(dir, 'model', 'config.json'), '{"layers": 2}\n');
    await writeFile(join(dir, 'model', 'shards', 'a.bin'), Buffer.alloc(300_000, 7));
    await writeFile(join(dir, 'model', 'shards', 'b.bin'), Buffer.alloc(200_000, 9));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prints every file digest as sha256sum does and the manifest digest of the documented pipeline', async () => {
    const model = join(dir, 'model');
    const r = await agent('measure', model, '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { models: { path: string; kind: string; manifestDigest: string; files: { path: string; digest: string }[] }[] };
    expect(out.models).toHaveLength(1);
    const [m] = out.models;
    expect(m!.kind).toBe('folder');
    const sums = await sh("find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum", model);
    expect(m!.files.map((f) => `${f.digest}  ${f.path}\n`).join('')).toBe(sums);
    expect(m!.manifestDigest).toBe((await sh("find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum", model)).split(' ')[0]);

    const text = await agent('measure', model, join(model, 'config.json'));
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`manifest ${m!.manifestDigest}  ${model} (3 files`);
    expect(text.stdout).toContain(`${m!.files.find((f) => f.path === 'config.json')!.digest}  ${join(model, 'config.json')}\n`);
  });

  it('shows progress on stderr for inputs over 100 MB', async () => {
    const big = join(dir, 'big.bin');
    await sh(`truncate -s 101M ${big}`, dir);
    const r = await agent('measure', big);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/measure: .*big\.bin: 100% \(101 of 101 MiB, 1\/1 files\)/);
    expect(r.stdout.split(' ')[0]).toBe((await sh(`sha256sum ${big}`, dir)).split(' ')[0]);
    const small = await agent('measure', join(dir, 'model'));
    expect(small.stderr).toBe('');
  });

  it('exits 2 for a symbolic link unless --allow-symlinks, 3 for a missing path', async () => {
    const link = join(dir, 'link.json');
    await symlink(join(dir, 'model', 'config.json'), link);
    const refused = await agent('measure', link);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/symbolic link/);
    expect((await agent('measure', link, '--allow-symlinks')).code).toBe(0);
    expect((await agent('measure', join(dir, 'nothing-here'))).code).toBe(3);
    expect((await agent('measure', join(dir, 'model'), '--concurrency', '0')).code).toBe(2);
  });
});
