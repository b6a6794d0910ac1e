// The simulator module on its own (the test harness wraps it): one
// manufacturer CA for several TPMs, each with its own endorsement seed;
// swtpm started, power-cycled, restarted and stopped; typed failures; and
// swtpm never outliving the process that started it.
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PCR_Extend } from '../src/commands/integrity.js';
import { GetRandom } from '../src/commands/random.js';
import { TPM_ALG } from '../src/constants/alg.js';
import { readEkCertificate } from '../src/keys/ek.js';
import { readPcrs } from '../src/pcrs/read.js';
import { parsePcrSelection } from '../src/pcrs/selection.js';
import { manufactureTpm, SimulatorError, startSimulator, SwtpmManufacturer, type ManufacturedTpm, type SwtpmSimulator } from '../src/simulator/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

let root: string;
let manufacturer: SwtpmManufacturer;
let first: ManufacturedTpm;
let second: ManufacturedTpm;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'vigil-simulator-'));
  manufacturer = await SwtpmManufacturer.open(join(root, 'vendor'));
  // Concurrently, with one CA: swtpm_localca creates the CA once, under its lock.
  [first, second] = await Promise.all([
    manufactureTpm({ stateDir: join(root, 'tpm-1'), manufacturer }),
    manufactureTpm({ stateDir: join(root, 'tpm-2'), manufacturer, pcrBanks: ['sha256'] }),
  ]);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('manufacturing', () => {
  it('gives every TPM its own EKs, all certified by the one manufacturer CA', async () => {
    const { rootPem, issuerPem } = await manufacturer.certificates();
    const ca = new X509Certificate(rootPem);
    const issuer = new X509Certificate(issuerPem);
    expect(issuer.verify(ca.publicKey)).toBe(true);
    expect(issuer.checkIssued(ca)).toBe(true);
    for (const tpm of [first, second]) {
      for (const der of [tpm.ekCertificates.rsa2048, tpm.ekCertificates.secp384r1]) {
        expect(der).toBeDefined();
        const cert = new X509Certificate(Buffer.from(der!));
        expect(cert.verify(issuer.publicKey)).toBe(true);
      }
    }
    const keyOf = (t: ManufacturedTpm) => hex(new X509Certificate(Buffer.from(t.ekCertificates.rsa2048!)).publicKey.export({ type: 'spki', format: 'der' }));
    expect(keyOf(first)).not.toBe(keyOf(second));
    expect(first.pcrBanks).toEqual(['sha1', 'sha256']);
    expect(second.pcrBanks).toEqual(['sha256']);
  });

  it('refuses an unknown PCR bank before running anything', async () => {
    const err = await manufactureTpm({ stateDir: join(root, 'bad'), manufacturer, pcrBanks: ['sha256', 'md5'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimulatorError);
    expect((err as SimulatorError).failure).toBe('manufacture-failed');
    expect((err as Error).message).toMatch(/md5/);
  });

  it('names the missing program and the package that installs it', async () => {
    const err = await manufactureTpm({ stateDir: join(root, 'x'), manufacturer, tools: { swtpmSetup: join(root, 'no-such-swtpm_setup') } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SimulatorError);
    expect((err as SimulatorError).failure).toBe('not-installed');
    expect((err as Error).message).toMatch(/no-such-swtpm_setup.*apt-get install -y swtpm-tools/);
  });

  it('reports the CA as missing for a manufacturer that made nothing yet', async () => {
    const empty = await SwtpmManufacturer.open(join(root, 'empty-vendor'));
    expect(empty.hasCertificates).toBe(false);
    await expect(empty.certificates()).rejects.toBeInstanceOf(SimulatorError);
  });
});

describe('running', () => {
  let sim: SwtpmSimulator;
  beforeAll(async () => {
    sim = await startSimulator({ stateDir: first.stateDir, runDir: join(root, 'run-1') });
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('serves the manufactured TPM: its EK certificate is in NV', async () => {
    const tpm = sim.connect();
    try {
      expect(hex((await readEkCertificate(tpm, 'rsa'))!)).toBe(hex(first.ekCertificates.rsa2048!));
    } finally {
      await tpm.close();
    }
    expect(sim.uri).toBe(`swtpm:path=${join(root, 'run-1', 'data.sock')}`);
    expect(sim.running).toBe(true);
  });

  it('power-cycles (PCRs back to zero) and restarts on the same address', async () => {
    const selection = parsePcrSelection('sha256:16');
    let tpm = sim.connect();
    const digest = new Uint8Array(32).fill(0xab);
    await tpm.execute(PCR_Extend, { pcrHandle: 16, digests: [{ hashAlg: TPM_ALG.SHA256, digest }] });
    const extended = await readPcrs(tpm, selection);
    await sim.powerCycle(tpm);
    const afterCycle = await readPcrs(tpm, selection);
    await tpm.close();
    const value = (r: typeof extended) => hex(r.values.get(TPM_ALG.SHA256)!.get(16)!);
    expect(value(extended)).not.toBe('00'.repeat(32));
    expect(value(afterCycle)).toBe('00'.repeat(32));

    await sim.restart();
    tpm = sim.connect();
    expect((await tpm.execute(GetRandom, { bytesRequested: 8 })).randomBytes.length).toBe(8);
    await tpm.close();
  });

  it('serves TCP with the control port at data port + 1', async () => {
    const tcp = await startSimulator({ stateDir: second.stateDir, runDir: join(root, 'run-2'), transport: 'tcp' });
    try {
      expect('port' in tcp.ctrl && 'port' in tcp.data && tcp.ctrl.port === tcp.data.port + 1).toBe(true);
      expect(tcp.tcti).toBe(tcp.uri);
      const tpm = tcp.connect();
      expect((await tpm.execute(GetRandom, { bytesRequested: 4 })).randomBytes.length).toBe(4);
      await tpm.close();
    } finally {
      await tcp.stop();
    }
    expect(tcp.running).toBe(false);
    await expect(tcp.restart()).rejects.toMatchObject({ failure: 'stopped' });
    await tcp.stop(); // idempotent
  });

  it('refuses a Unix socket path the kernel cannot bind', async () => {
    const err = await startSimulator({ stateDir: second.stateDir, runDir: join(root, 'r'.repeat(120)) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ failure: 'socket-path-too-long' });
  });

  it('reports swtpm failing to start with what it printed', async () => {
    const err = await startSimulator({ stateDir: join(root, 'no-such-state', 'x'.repeat(10)), runDir: join(root, 'run-bad'), tools: { swtpm: '/bin/false' } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ failure: 'start-failed' });
  });
});

describe('lifetime', () => {
  it('ends swtpm when the process that started it is killed', async () => {
    // A child process starts a simulator, prints swtpm's pid and is then SIGKILLed: no chance to clean up.
    const child = spawn(process.execPath, ['--input-type=module', '-e', orphanScript(first.stateDir, join(root, 'run-orphan'))], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: join(import.meta.dirname, '..'),
    });
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /^(\d+)\n/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`child exited (${code}) before starting swtpm`)));
    });
    expect(isAlive(pid)).toBe(true);
    child.kill('SIGKILL');
    // The watchdog notices the closed pipe and ends swtpm: wait for it (no time limit asserted).
    while (isAlive(pid)) await new Promise((r) => setTimeout(r, 20));
    expect(isAlive(pid)).toBe(false);
  });
});

/** A program that starts a simulator, prints swtpm's pid (found from its socket's owner via /proc) and waits. */
function orphanScript(stateDir: string, runDir: string): string {
  return `
    import { startSimulator } from '@vigil/tpm2-ts/simulator';
    import { readdirSync, readFileSync } from 'node:fs';
    await startSimulator({ stateDir: ${JSON.stringify(stateDir)}, runDir: ${JSON.stringify(runDir)} });
    const pid = readdirSync('/proc').filter((p) => /^\\d+$/.test(p)).find((p) => {
      try { return readFileSync('/proc/' + p + '/cmdline', 'utf8').split('\\0').includes('dir=' + ${JSON.stringify(stateDir)}) && readFileSync('/proc/' + p + '/comm', 'utf8').trim() === 'swtpm'; } catch { return false; }
    });
    process.stdout.write(pid + '\\n');
    setInterval(() => {}, 1000);
  `;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
