// Interop with tpm2-tools, our side producing: `vigil-agent tpm quote` (the
// built CLI) makes a quote that `tpm2_checkquote` accepts, and rejects when the
// nonce or a PCR value differs; our pcrs.bin is byte-identical to
// `tpm2_pcrread -F serialized`; `tpm2_quote`'s PCR file decodes with ours.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { decodeTpm2ToolsPcrFile, encodeTpm2ToolsPcrFile, parsePcrSelection, TPM_ALG } from '@vigil/tpm2-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSwtpm, type SwtpmInstance } from './harness/swtpm.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'agent', 'dist', 'cli', 'main.js');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  try {
    const r = await run(cmd, args, { env: { ...process.env, ...env }, encoding: 'utf8' });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

describe('tpm2_checkquote accepts quotes from vigil-agent tpm quote', () => {
  let sim: SwtpmInstance;
  let dir: string;
  let tools: NodeJS.ProcessEnv;
  beforeAll(async () => {
    // TCP with the control port at data port + 1, as tpm2-tools' swtpm TCTI needs.
    sim = await startSwtpm({ transport: 'tcp' });
    dir = await mkdtemp(join(tmpdir(), 'vigil-interop-'));
    tools = { TPM2TOOLS_TCTI: sim.tcti! };
  });
  afterAll(async () => {
    await sim?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const checkquote = (out: string, nonce: string, pcrs = join(out, 'pcrs.bin'), pub = join(out, 'ak.pub.pem')): Promise<Result> =>
    exec('tpm2_checkquote', ['-u', pub, '-m', join(out, 'quote.msg'), '-s', join(out, 'quote.sig'), '-f', pcrs, '-g', 'sha256', '-q', nonce]);

  for (const kind of ['rsa', 'ecc'] as const) {
    it(`${kind} AK: accepted with the right nonce, rejected with a wrong nonce or a changed PCR value`, async () => {
      const out = join(dir, kind);
      const nonce = kind === 'rsa' ? '5eed1e55c0ffee00' : 'a11ce0b0b0';
      // Extend PCR 7 with something first, so the values are not all zeros.
      const ext = await exec('tpm2_pcrextend', [`7:sha256=${'ab'.repeat(32)}`], tools);
      expect(ext.code, ext.stderr).toBe(0);
      const r = await exec('node', [CLI, 'tpm', 'quote', '--tpm', sim.uri, '--nonce', nonce, '--pcrs', 'sha256:0,1,2,7', '--out', out, '--ak-kind', kind, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ pcrs: 'sha256:0,1,2,7', nonce, akKind: kind });

      const ok = await checkquote(out, nonce);
      expect(ok.code, ok.stderr).toBe(0);
      // tpm2-tools also reads our TPM2B_PUBLIC file as the key.
      expect((await checkquote(out, nonce, join(out, 'pcrs.bin'), join(out, 'ak.pub'))).code).toBe(0);

      const wrongNonce = await checkquote(out, nonce.slice(0, -2) + (nonce.endsWith('00') ? '01' : '00'));
      expect(wrongNonce.code).not.toBe(0);

      // One PCR value changed in the PCR file: the quoted digest no longer matches.
      const file = decodeTpm2ToolsPcrFile(new Uint8Array(await readFile(join(out, 'pcrs.bin'))));
      const bank = new Map(file.values.get(TPM_ALG.SHA256)!);
      const v = new Uint8Array(bank.get(7)!);
      v[0]! ^= 1;
      bank.set(7, v);
      const tampered = join(out, 'pcrs-tampered.bin');
      await writeFile(tampered, encodeTpm2ToolsPcrFile(file.selection, new Map([[TPM_ALG.SHA256, bank]])));
      expect((await checkquote(out, nonce, tampered)).code).not.toBe(0);
    });
  }

  it('pcrs.bin is byte-identical to tpm2_pcrread -F serialized over several banks and more than 8 PCRs', async () => {
    const out = join(dir, 'multi');
    const selection = 'sha1:0,3+sha256:0,1,2,3,4,5,6,7,8,9,10,11';
    const r = await exec('node', [CLI, 'tpm', 'quote', '--tpm', sim.uri, '--nonce', '01', '--pcrs', selection, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const toolsFile = join(out, 'tpm2-tools-pcrs.bin');
    const pr = await exec('tpm2_pcrread', ['-F', 'serialized', selection, '-o', toolsFile], tools);
    expect(pr.code, pr.stderr).toBe(0);
    expect(Buffer.from(await readFile(join(out, 'pcrs.bin'))).equals(await readFile(toolsFile))).toBe(true);
    expect((await checkquote(out, '01')).code).toBe(0);
  });

  it("tpm2_quote's PCR file decodes to the selection and values tpm2_pcrread reports", async () => {
    const ctx = (n: string): string => join(dir, n);
    for (const [cmd, args] of [
      ['tpm2_createek', ['-c', ctx('ek.ctx'), '-G', 'rsa']],
      ['tpm2_createak', ['-C', ctx('ek.ctx'), '-c', ctx('ak.ctx'), '-G', 'rsa', '-g', 'sha256', '-s', 'rsassa']],
      ['tpm2_quote', ['-c', ctx('ak.ctx'), '-l', 'sha256:1,7', '-q', 'ab', '-m', ctx('t.msg'), '-s', ctx('t.sig'), '-o', ctx('t.pcrs')]],
    ] as const) {
      const r = await exec(cmd, [...args], tools);
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(0);
      // No resource manager in front of swtpm: free the transient slots the tool left loaded.
      expect((await exec('tpm2_flushcontext', ['-t'], tools)).code).toBe(0);
    }
    const decoded = decodeTpm2ToolsPcrFile(new Uint8Array(await readFile(ctx('t.pcrs'))));
    expect(decoded.selection).toEqual(parsePcrSelection('sha256:1,7'));
    const values = await exec('tpm2_pcrread', ['-F', 'values', 'sha256:1,7', '-o', ctx('values.bin')], tools);
    expect(values.code, values.stderr).toBe(0);
    const raw = await readFile(ctx('values.bin'));
    expect(Buffer.from(decoded.values.get(TPM_ALG.SHA256)!.get(1)!).equals(raw.subarray(0, 32))).toBe(true);
    expect(Buffer.from(decoded.values.get(TPM_ALG.SHA256)!.get(7)!).equals(raw.subarray(32, 64))).toBe(true);
  });

  it('--ak-dir keeps the AK: created (private blob 0600) on first use, loaded afterwards, and still verifiable', async () => {
    const akDir = join(dir, 'ak-store');
    const quote = (out: string): Promise<Result> =>
      exec('node', [CLI, 'tpm', 'quote', '--tpm', sim.uri, '--nonce', 'beef', '--pcrs', 'sha256:0', '--out', out, '--ak-dir', akDir, '--json']);
    const first = await quote(join(dir, 'first'));
    expect(first.code, first.stderr).toBe(0);
    const second = await quote(join(dir, 'second'));
    expect(second.code, second.stderr).toBe(0);
    const a = JSON.parse(first.stdout) as { akCreated: boolean; akName: string };
    const b = JSON.parse(second.stdout) as { akCreated: boolean; akName: string };
    expect([a.akCreated, b.akCreated]).toEqual([true, false]);
    expect(b.akName).toBe(a.akName);
    expect((await stat(join(akDir, 'ak.priv'))).mode & 0o777).toBe(0o600);
    expect((await checkquote(join(dir, 'second'), 'beef')).code).toBe(0);
  });

  it('tpm info reports the manufacturer, the allocated banks and which EK certificates are in NV', async () => {
    const r = await exec('node', [CLI, 'tpm', 'info', '--tpm', sim.uri, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as {
      manufacturer: string;
      pcrBanks: { alg: string; pcrs: number }[];
      ekCertificates: Record<string, { present: boolean; nvIndex: string }>;
    };
    expect(info.manufacturer).toBe('IBM');
    expect(info.pcrBanks.map((b) => b.alg).sort()).toEqual([...sim.pcrBanks].sort());
    expect(info.ekCertificates['rsa']).toMatchObject({ present: true, nvIndex: '0x01c00002' });
    expect(info.ekCertificates['ecc']).toMatchObject({ present: false, nvIndex: '0x01c0000a' });
    expect(info.ekCertificates['ecc-p384']).toMatchObject({ present: true, nvIndex: '0x01c00016' });
    const text = await exec('node', [CLI, 'tpm', 'info', '--tpm', sim.uri]);
    expect(text.stdout).toMatch(/^manufacturer\s+IBM/m);
  });

  it('exits 4 for an unreachable TPM and 2 for a bad selection, with a clear message', async () => {
    const unreachable = await exec('node', [CLI, 'tpm', 'quote', '--tpm', `swtpm:path=${join(dir, 'nobody.sock')}`, '--nonce', '00', '--pcrs', 'sha256:0', '--out', join(dir, 'x')]);
    expect(unreachable.code).toBe(4);
    expect(unreachable.stderr).toMatch(/cannot connect to swtpm/);
    const bad = await exec('node', [CLI, 'tpm', 'quote', '--tpm', sim.uri, '--nonce', '00', '--pcrs', 'sha256:0,99', '--out', join(dir, 'x')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--pcrs/);
    const badUri = await exec('node', [CLI, 'tpm', 'info', '--tpm', 'tcp:1']);
    expect(badUri.code).toBe(2);
    expect(badUri.stderr).toMatch(/bad TPM URI/);
  });
});
