import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSwtpm, type SwtpmInstance } from '../../../test/harness/swtpm.js';
import { GetRandom } from '../src/commands/random.js';
import { SWTPM_CAP } from '../src/transports/swtpm-control.js';

describe('swtpm test harness', () => {
  let unix: SwtpmInstance;
  let tcp: SwtpmInstance;
  beforeAll(async () => {
    [unix, tcp] = await Promise.all([startSwtpm(), startSwtpm({ transport: 'tcp' })]);
  });
  afterAll(async () => {
    await Promise.all([unix?.stop(), tcp?.stop()]);
  });

  it('serves TPM commands on a Unix socket and on TCP with the control port at data port + 1', async () => {
    for (const sim of [unix, tcp]) {
      const tpm = sim.connect();
      const { randomBytes } = await tpm.execute(GetRandom, { bytesRequested: 16 });
      expect(randomBytes.length).toBe(16);
      await tpm.close();
    }
    expect(tcp.ctrlPort).toBe(tcp.port! + 1);
    expect(tcp.tcti).toBe(`swtpm:host=127.0.0.1,port=${tcp.port}`);
    expect(unix.uri).toBe(`swtpm:path=${unix.dataPath}`);
  });

  it('answers on the control channel', async () => {
    const c = unix.control();
    const caps = await c.capabilities();
    expect(caps & BigInt(SWTPM_CAP.INIT)).not.toBe(0n);
    await c.close();
  });

  it('manufactures EK certificates chained to its private CA', () => {
    const root = new X509Certificate(unix.ekCaCert);
    const issuer = new X509Certificate(unix.ekIssuerCert);
    expect(issuer.verify(root.publicKey)).toBe(true);
    const rsa = new X509Certificate(Buffer.from(unix.ekCertificates.rsa2048!));
    expect(rsa.verify(issuer.publicKey)).toBe(true);
    expect(rsa.verify(root.publicKey)).toBe(false);
    expect(unix.ekCertificates.secp384r1).toBeDefined();
  });

  it('restarts a TCP instance on the same ports', async () => {
    await tcp.restart();
    const tpm = tcp.connect();
    expect((await tpm.execute(GetRandom, { bytesRequested: 8 })).randomBytes.length).toBe(8);
    await tpm.close();
  });

  it('restarts on the same addresses and stops for good', async () => {
    const sim = await startSwtpm();
    await sim.restart();
    const tpm = sim.connect();
    expect((await tpm.execute(GetRandom, { bytesRequested: 8 })).randomBytes.length).toBe(8);
    await tpm.close();
    await sim.stop();
    expect(existsSync(sim.stateDir)).toBe(false);
    await expect(sim.connect().execute(GetRandom, { bytesRequested: 8 })).rejects.toThrow(/cannot connect/);
  });
});
