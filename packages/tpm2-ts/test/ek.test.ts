// EK templates against what swtpm_setup provisioned: the EK we create from
// the TCG template is the key in the EK certificate read from NV.
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SwtpmInstance } from '../../../test/harness/swtpm.js';
import { useSwtpm } from '../../../test/harness/swtpm-suite.js';
import { ReadPublic } from '../src/commands/object.js';
import { publicKeyFromTpmt } from '../src/crypto/public-key.js';
import { createAk, loadAk } from '../src/keys/ak.js';
import { createEk, readEkCertificate } from '../src/keys/ek.js';
import { flushKey } from '../src/keys/loaded-key.js';
import { AK_TEMPLATES } from '../src/templates/ak.js';
import type { Tpm } from '../src/tpm.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const spki = (k: ReturnType<typeof publicKeyFromTpmt>): string => hex(k.export({ type: 'spki', format: 'der' }));

describe('EK and AK templates against swtpm', () => {
  let sim: SwtpmInstance;
  let tpm: Tpm;
  useSwtpm((suite) => ({ sim, tpm } = suite));

  for (const [kind, persistent, manufactured] of [
    ['rsa', 0x81010001, 'rsa2048'],
    ['ecc-p384', 0x81010016, 'secp384r1'],
  ] as const) {
    it(`the ${kind} EK from its template is the key certified in NV, signed by the manufacturer CA`, async () => {
      const der = await readEkCertificate(tpm, kind);
      expect(der).toBeDefined();
      // What swtpm_setup wrote is what NV_Read (chunked) returns.
      expect(hex(der!)).toBe(hex(sim.ekCertificates[manufactured]!));
      const cert = new X509Certificate(Buffer.from(der!));
      expect(cert.verify(new X509Certificate(sim.ekIssuerCert).publicKey)).toBe(true);

      const ek = await createEk(tpm, kind);
      expect(spki(publicKeyFromTpmt(ek.public))).toBe(spki(cert.publicKey));
      // And it is the very key swtpm_setup persisted: same Name, so same template bytes.
      expect(hex((await tpm.execute(ReadPublic, { objectHandle: persistent })).name)).toBe(hex(ek.name));
      await flushKey(tpm, ek);
    });
  }

  it('has no certificate for the low-range ECC P-256 EK (swtpm provisions P-384), but the EK can still be created', async () => {
    expect(await readEkCertificate(tpm, 'ecc')).toBeUndefined();
    const ek = await createEk(tpm, 'ecc');
    expect(publicKeyFromTpmt(ek.public).asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    await flushKey(tpm, ek);
  });

  it('creates the same EK twice (primary keys derive from the seed)', async () => {
    const a = await createEk(tpm, 'rsa');
    const b = await createEk(tpm, 'rsa');
    expect(a.handle).not.toBe(b.handle);
    expect(hex(a.name)).toBe(hex(b.name));
    await flushKey(tpm, a);
    await flushKey(tpm, b);
  });

  for (const kind of ['rsa', 'ecc'] as const) {
    it(`the ${kind} AK is a restricted, fixed, sign-only key with the template's scheme`, async () => {
      const ek = await createEk(tpm, 'rsa');
      const blobs = await createAk(tpm, ek, kind);
      const a = blobs.public.objectAttributes;
      expect([a.fixedTPM, a.fixedParent, a.sensitiveDataOrigin, a.userWithAuth, a.restricted, a.sign]).toEqual([true, true, true, true, true, true]);
      expect([a.decrypt, a.adminWithPolicy, a.noDA]).toEqual([false, false, false]);
      expect(blobs.public.parameters).toEqual(AK_TEMPLATES[kind].parameters);
      const ak = await loadAk(tpm, ek, blobs);
      expect(hex(ak.name)).toBe(hex(blobs.name));
      // A fresh Create gives a different key (sensitiveDataOrigin: the TPM picks the private key).
      const again = await createAk(tpm, ek, kind);
      expect(hex(again.name)).not.toBe(hex(blobs.name));
      await flushKey(tpm, ak);
      await flushKey(tpm, ek);
    });
  }
});
