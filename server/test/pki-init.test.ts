import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { makeTempDir } from '../../test/harness/pki.js';
import { serverConfigLeaves, ServerConfigSchema } from '../src/config/index.js';
import { dataDir } from '../src/datadir.js';
import { readCrlFile, loadFleetCaFiles } from '../src/pki/index.js';

const run = promisify(execFile);
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'vigil-server.cjs');
/** A 2048-bit CA keeps the test quick; production default is 3072. */
const ENV = { ...process.env, VIGIL_PKI_CA_KEY_BITS: '2048' };

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: ENV });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

let tmp: { path: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  tmp = await makeTempDir('vigil-init-');
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('vigil-server init', () => {
  it('creates the data directory 0700 with a CA, broker certificate, CRL, commented config and database; keys 0600', async () => {
    const root = join(tmp.path, 'data');
    const paths = dataDir(root);
    const result = await cli(['init', '--data', root, '--san', 'broker.example', '--san', '10.0.0.7']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(paths.caCert);

    expect((await stat(root)).mode & 0o777).toBe(0o700);
    expect((await stat(paths.caKey)).mode & 0o777).toBe(0o600);
    expect((await stat(paths.serverKey)).mode & 0o777).toBe(0o600);
    expect(existsSync(paths.database)).toBe(true);

    const ca = await loadFleetCaFiles(paths);
    expect(ca.certificate.ca).toBe(true);
    expect(result.stdout).toContain(ca.certificate.fingerprint256);
    const server = new X509Certificate(await readFile(paths.serverCert));
    expect(server.verify(ca.certificate.publicKey)).toBe(true);
    expect(server.subjectAltName).toBe('DNS:broker.example, IP Address:10.0.0.7');
    const crl = await readCrlFile(paths.crl, ca);
    expect(crl?.revokedSerials.size).toBe(0);
    expect(crl?.crlNumber).toBe(1n);

    // Every key in config.yaml has a comment line right above it, and the file loads back.
    const text = await readFile(paths.config, 'utf8');
    const lines = text.split('\n');
    const keyLines = lines.map((l, i) => ({ l, i })).filter(({ l }) => /^\s*[A-Za-z]+:/.test(l));
    expect(keyLines.length).toBe(serverConfigLeaves().length + Object.keys(ServerConfigSchema.properties).length);
    for (const { i } of keyLines) expect(lines[i - 1]).toMatch(/^\s*#/);
    const parsed = YAML.parse(text) as { pki: { serverSans: string[] } };
    expect(parsed.pki.serverSans).toEqual(['broker.example', '10.0.0.7']);
  });

  it('refuses (exit 2) to overwrite an existing CA unless --force', async () => {
    const root = join(tmp.path, 'data');
    const paths = dataDir(root);
    const before = await readFile(paths.caCert, 'utf8');
    const again = await cli(['init', '--data', root]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already has a fleet CA');
    expect(await readFile(paths.caCert, 'utf8')).toBe(before);

    const forced = await cli(['init', '--data', root, '--force']);
    expect(forced.code).toBe(0);
    const after = await readFile(paths.caCert, 'utf8');
    expect(after).not.toBe(before);
    // The CRL was restarted under the new CA (the old one would not verify).
    const crl = await readCrlFile(paths.crl, await loadFleetCaFiles(paths));
    expect(crl?.crlNumber).toBe(1n);
  });

  it('refuses a bad --san with exit 2 before writing anything', async () => {
    const root = join(tmp.path, 'bad-san');
    const result = await cli(['init', '--data', root, '--san', 'not a host!']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('not a host!');
    expect(existsSync(dataDir(root).caKey)).toBe(false);
  });
});
