/**
 * The demo's parts that need no TPM or server: the model release and the
 * one-byte tamper, the manufacturer trust anchor written into a real
 * `vigil-server init` configuration, the data directory rules, the
 * teardown order, waiting with a deadline and an abort, and the terminal
 * (redraw in place only on a terminal, aligned coloured tables).
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError, ExitCode } from '../server/src/cli/exit-codes.js';
import { loadServerConfig } from '../server/src/config/index.js';
import { dataDir } from '../server/src/datadir.js';
import { prepareDataDir } from '../server/src/demo/data-dir.js';
import { trustManufacturer } from '../server/src/demo/fleet/manufacturer-trust.js';
import { flipOneByte, MODEL_FILE, modelRelease, writeModelFolder } from '../server/src/demo/fleet/model-folder.js';
import { Teardown } from '../server/src/demo/teardown.js';
import { renderFleetTable, type FleetRow } from '../server/src/demo/view/fleet-table.js';
import { Terminal } from '../server/src/demo/view/terminal.js';
import { DemoInterrupted, waitFor } from '../server/src/demo/wait.js';
import { makeTempDir } from './harness/pki.js';

const run = promisify(execFile);
const SERVER_CLI = join(import.meta.dirname, '..', 'server', 'dist', 'cli', 'vigil-server.cjs');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

let tmp: { path: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  tmp = await makeTempDir('vigil-demo-units-');
});
afterAll(async () => {
  await tmp?.cleanup();
});

describe('the model release and the tamper', () => {
  it('is the same bytes on every device (one release), an ONNX-like header first', () => {
    const a = modelRelease();
    const b = modelRelease();
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [name, bytes] of a) expect(sha256(bytes), name).toBe(sha256(b.get(name)!));
    const onnx = a.get(MODEL_FILE)!;
    expect([...onnx.subarray(0, 3)]).toEqual([0x08, 0x08, 0x12]);
    expect(onnx.length).toBeGreaterThan(100_000);
  });

  it('changes exactly one byte in place, and changing it again restores the file', async () => {
    const dir = join(tmp.path, 'models');
    await writeModelFolder(dir);
    const file = join(dir, MODEL_FILE);
    const before = new Uint8Array(await readFile(file));
    const flip = await flipOneByte(file, 4096);
    const after = new Uint8Array(await readFile(file));
    expect(after.length).toBe(before.length);
    const differing = [...after.keys()].filter((i) => after[i] !== before[i]);
    expect(differing).toEqual([4096]);
    expect(after[4096]).toBe(flip.after);
    expect(before[4096]).toBe(flip.before);
    await flipOneByte(file, 4096);
    expect(sha256(new Uint8Array(await readFile(file)))).toBe(sha256(before));
    await expect(flipOneByte(file, before.length)).rejects.toThrow(/no byte at offset/);
  });
});

describe('the manufacturer trust anchor', () => {
  it('goes into the config.yaml vigil-server init wrote, keeping its comments, and the server configuration reads it', async () => {
    const paths = dataDir(join(tmp.path, 'server'));
    await run(process.execPath, [SERVER_CLI, 'init', '--data', paths.root, '--san', 'localhost'], { env: { ...process.env, VIGIL_PKI_CA_KEY_BITS: '2048' } });
    const commentsBefore = readFileSync(paths.config, 'utf8').split('\n').filter((l) => l.trimStart().startsWith('#'));
    const bundle = await trustManufacturer(paths, { rootPem: 'ROOT PEM\n', issuerPem: 'ISSUER PEM\n' });
    expect(await readFile(bundle, 'utf8')).toBe('ROOT PEM\nISSUER PEM\n');
    const text = readFileSync(paths.config, 'utf8');
    expect(text.split('\n').filter((l) => l.trimStart().startsWith('#'))).toEqual(commentsBefore);
    const config = await loadServerConfig({ configPath: paths.config });
    expect(config.enrollment.manufacturerCaFiles).toEqual(['tpm-manufacturers.pem']);
  });
});

describe('the data directory', () => {
  it('is created (0700) when missing, accepted when empty, refused when it holds anything', async () => {
    const fresh = await prepareDataDir(join(tmp.path, 'd1', 'nested'));
    expect(fresh.temporary).toBe(false);
    expect(statSync(fresh.path).mode & 0o777).toBe(0o700);
    await mkdir(join(tmp.path, 'd2'));
    expect((await prepareDataDir(join(tmp.path, 'd2'))).path).toBe(join(tmp.path, 'd2'));
    await writeFile(join(tmp.path, 'd2', 'vigil.db'), 'a real server');
    await expect(prepareDataDir(join(tmp.path, 'd2'))).rejects.toMatchObject({ exitCode: ExitCode.Usage });
    await expect(prepareDataDir(join(tmp.path, 'd2', 'vigil.db'))).rejects.toThrow(/not a directory/);
    const temporary = await prepareDataDir(undefined);
    try {
      expect(temporary.temporary).toBe(true);
      expect(statSync(temporary.path).isDirectory()).toBe(true);
    } finally {
      await rm(temporary.path, { recursive: true, force: true });
    }
  });
});

describe('teardown and waiting', () => {
  it('stops the newest first and goes on past a failure', async () => {
    const order: string[] = [];
    const t = new Teardown();
    t.add('tpm', async () => void order.push('tpm'));
    t.add('server', async () => {
      order.push('server');
      throw new Error('port busy');
    });
    t.add('agent', async () => void order.push('agent'));
    expect(await t.run()).toEqual(['server: port busy']);
    expect(order).toEqual(['agent', 'server', 'tpm']);
    expect(await t.run()).toEqual([]); // each step runs once
  });

  it('returns the first defined value, gives up with a CliError naming what it waited for, and stops on abort', async () => {
    let n = 0;
    const signal = new AbortController().signal;
    expect(await waitFor(() => (++n >= 3 ? n : undefined), { signal, timeoutMs: 10_000, what: 'three', everyMs: 1 })).toBe(3);
    const err = await waitFor(() => undefined, { signal, timeoutMs: 0, what: 'a device to enroll', exitCode: ExitCode.Network, everyMs: 1, hint: () => 'logs: x.log' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect(err).toMatchObject({ exitCode: ExitCode.Network });
    expect((err as Error).message).toMatch(/waiting for a device to enroll\nlogs: x.log/);
    const controller = new AbortController();
    const waiting = waitFor(() => undefined, { signal: controller.signal, timeoutMs: 60_000, what: 'never', everyMs: 10 });
    controller.abort(new DemoInterrupted('SIGINT'));
    await expect(waiting).rejects.toBeInstanceOf(DemoInterrupted);
  });
});

/** A Writable that keeps what was written. */
function sink(): { stream: Writable; text: () => string } {
  let out = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      out += chunk.toString();
      done();
    },
  });
  return { stream, text: () => out };
}

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

describe('the terminal', () => {
  const rows: FleetRow[] = [
    { device: 'edge-01', state: 'connected', verdict: 'affirming', verdictAt: 1_000, detail: 'policy p@1' },
    { device: 'edge-10', state: 'revoked', verdict: 'contraindicated', verdictAt: 5_000, detail: 'models/model-digest-not-allowed' },
    { device: 'edge-3', state: 'enrolling', verdict: 'none', verdictAt: null, detail: '' },
  ];

  it('aligns the fleet table whether coloured or not', () => {
    const plainTerm = new Terminal(sink().stream, { color: false, interactive: false });
    const colourTerm = new Terminal(sink().stream, { color: true, interactive: true });
    const plain = renderFleetTable(rows, plainTerm.paint, 7_000);
    const coloured = renderFleetTable(rows, colourTerm.paint, 7_000);
    expect(plain.join('\n')).not.toMatch(ANSI);
    expect(coloured.join('\n')).toMatch(ANSI);
    expect(coloured.map((l) => l.replace(ANSI, ''))).toEqual(plain);
    const column = (line: string, word: string) => line.indexOf(word);
    expect(column(plain[1]!, 'connected')).toBe(column(plain[0]!, 'STATE'));
    expect(column(plain[2]!, 'contraindicated')).toBe(column(plain[0]!, 'LAST VERDICT'));
    expect(plain[1]).toContain('6s ago');
    expect(plain[3]).toMatch(/edge-3 +enrolling +none +-/);
  });

  it('redraws a frame in place only on a terminal, and never over lines printed after it', () => {
    const tty = sink();
    const t = new Terminal(tty.stream, { color: false, interactive: true });
    t.frame(['a', 'b', 'c']);
    t.frame(['a', 'b']);
    expect(tty.text()).toBe('a\nb\nc\n\x1b[3F\x1b[Ja\nb\n');
    t.line('printed');
    t.frame(['x']);
    expect(tty.text().endsWith('printed\nx\n')).toBe(true);

    const pipe = sink();
    const p = new Terminal(pipe.stream, { color: false, interactive: false });
    p.frame(['a', 'b']);
    p.frame(['c']);
    expect(pipe.text()).toBe('a\nb\nc\n');
  });

  it('reports a step once without a terminal, with its outcome', async () => {
    const pipe = sink();
    const t = new Terminal(pipe.stream, { color: false, interactive: false });
    expect(await t.step('count', async (progress) => (progress('1/2'), 2), (n) => `counted ${n}`)).toBe(2);
    await expect(t.step('fail', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    const lines = pipe.text().trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^✓ counted 2 \(\d+ ms\)$/);
    expect(lines[1]).toBe('✗ fail');
  });
});
