// The broker certificate follows pki.serverSans: a name the operator adds to
// the configuration is in the certificate after the next start (before, the
// old certificate was kept until it neared expiry, and devices dialling the
// new name failed with "Hostname/IP does not match certificate's altnames").
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture } from '../../test/harness/broker.js';
import { makeFleetCa, makeTempDir } from '../../test/harness/pki.js';
import { startVigilServer } from '../src/app/index.js';
import { dataDir } from '../src/datadir.js';
import { days, issueServerCredentialFiles, loadOrRenewServerCredentials, type FleetCa } from '../src/pki/index.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../dist/cli/vigil-server.cjs', import.meta.url));
const VALIDITY = days(397);

let ca: FleetCa;
let tmp: { path: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  ca = await makeFleetCa();
  tmp = await makeTempDir('vigil-broker-sans-');
});
afterAll(async () => {
  await tmp.cleanup();
});

function pathsIn(name: string) {
  return { serverCert: join(tmp.path, `${name}.pem`), serverKey: join(tmp.path, `${name}.key`) };
}

/** The SAN text OpenSSL prints for the certificate on disk. */
async function sanText(path: string): Promise<string | undefined> {
  return new X509Certificate(await readFile(path)).subjectAltName;
}

describe('loadOrRenewServerCredentials and pki.serverSans', () => {
  it('keeps the certificate when the configured names are the same, in any order or spelling', async () => {
    const paths = pathsIn('same');
    await issueServerCredentialFiles(paths, ca, { sans: ['localhost', '127.0.0.1', '::1'], validityMs: VALIDITY });
    const before = await readFile(paths.serverCert, 'utf8');
    const loaded = await loadOrRenewServerCredentials(paths, ca, { sans: ['0:0:0:0:0:0:0:1', 'LOCALHOST', '127.0.0.1'], validityMs: VALIDITY });
    expect(loaded.renewed).toBe(false);
    expect(loaded.credentials.certificatePem).toBe(before);
    expect(await readFile(paths.serverCert, 'utf8')).toBe(before);
  });

  it('reissues, with reason sans-changed, when a name is added; the new certificate carries it and the key stays 0600', async () => {
    const paths = pathsIn('added');
    await issueServerCredentialFiles(paths, ca, { sans: ['localhost'], validityMs: VALIDITY });
    expect(new X509Certificate(await readFile(paths.serverCert)).checkHost('vigil.example.net')).toBeUndefined();

    const loaded = await loadOrRenewServerCredentials(paths, ca, { sans: ['localhost', 'vigil.example.net', '10.0.0.7'], validityMs: VALIDITY });
    expect(loaded).toMatchObject({ renewed: true, reason: 'sans-changed' });
    const cert = new X509Certificate(await readFile(paths.serverCert));
    expect(cert.verify(ca.certificate.publicKey)).toBe(true);
    expect(cert.checkHost('vigil.example.net')).toBe('vigil.example.net');
    expect(cert.checkIP('10.0.0.7')).toBe('10.0.0.7');
    expect(loaded.credentials.certificatePem).toBe(await readFile(paths.serverCert, 'utf8'));
    expect((await stat(paths.serverKey)).mode & 0o777).toBe(0o600);

    // Once reissued, the next start keeps it.
    const again = await loadOrRenewServerCredentials(paths, ca, { sans: ['localhost', 'vigil.example.net', '10.0.0.7'], validityMs: VALIDITY });
    expect(again.renewed).toBe(false);
  });

  it('reissues when a name is removed, so a retired name stops being served', async () => {
    const paths = pathsIn('removed');
    await issueServerCredentialFiles(paths, ca, { sans: ['localhost', 'old.example.net'], validityMs: VALIDITY });
    const loaded = await loadOrRenewServerCredentials(paths, ca, { sans: ['localhost'], validityMs: VALIDITY });
    expect(loaded).toMatchObject({ renewed: true, reason: 'sans-changed' });
    expect(await sanText(paths.serverCert)).toBe('DNS:localhost');
  });

  it('still names the other reasons: missing, foreign, expiring', async () => {
    const missing = pathsIn('missing');
    expect(await loadOrRenewServerCredentials(missing, ca, { sans: ['localhost'], validityMs: VALIDITY })).toMatchObject({ renewed: true, reason: 'missing' });

    const foreign = pathsIn('foreign');
    await issueServerCredentialFiles(foreign, await makeFleetCa('Another CA'), { sans: ['localhost'], validityMs: VALIDITY });
    expect(await loadOrRenewServerCredentials(foreign, ca, { sans: ['localhost'], validityMs: VALIDITY })).toMatchObject({ renewed: true, reason: 'foreign' });

    const expiring = pathsIn('expiring');
    await issueServerCredentialFiles(expiring, ca, { sans: ['localhost'], validityMs: days(10) });
    expect(await loadOrRenewServerCredentials(expiring, ca, { sans: ['localhost'], validityMs: VALIDITY })).toMatchObject({ renewed: true, reason: 'expiring' });
  });
});

describe('vigil-server start after pki.serverSans changed', () => {
  it('serves a certificate for the added name: a client dialling it verifies the broker', async () => {
    const paths = dataDir(join(tmp.path, 'data'));
    await run(process.execPath, [CLI, 'init', '--data', paths.root, '--san', 'localhost'], { env: { ...process.env, VIGIL_PKI_CA_KEY_BITS: '2048' } });
    const logs = new LogCapture();
    const server = await startVigilServer({
      paths,
      overrides: [
        { path: 'listen.host', value: '127.0.0.1', flag: 'test' },
        { path: 'listen.port', value: 0, flag: 'test' },
        { path: 'pki.serverSans', value: ['localhost', 'broker.vigil.test'], flag: 'test' },
      ],
      components: [],
      logger: logs.logger,
    });
    try {
      expect(logs.lines.some((l) => l.msg === 'broker certificate reissued' && l.reason === 'sans-changed')).toBe(true);
      const caPem = await readFile(paths.caCert, 'utf8');
      // TLS 1.3: the client has checked the server's certificate and host name when secureConnect fires.
      const outcome = await new Promise<string>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port: server.port, servername: 'broker.vigil.test', ca: caPem, rejectUnauthorized: true });
        socket.once('secureConnect', () => {
          resolve(`verified ${String(socket.getPeerCertificate().subjectaltname)}`);
          socket.destroy();
        });
        socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      });
      expect(outcome).toBe('verified DNS:localhost, DNS:broker.vigil.test');
    } finally {
      await server.stop();
    }
  });
});
