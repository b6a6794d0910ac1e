// verifyTpmSignature edge cases: exactly the RSAPSS salt lengths TPMs use,
// signature sizes, curve widths, hashes, and unsupported schemes.
import { constants, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TPM_ALG } from '../src/constants/alg.js';
import type { TpmtSignature } from '../src/structures/signature.js';
import { verifyTpmSignature, verifyTpmSignatureAsync } from '../src/verify/signature.js';
import { verificationKey } from '../src/verify/verification-key.js';
import { softwareAk, tpmSign } from './verify-software-quote.js';

const message = new Uint8Array(Buffer.from('a TPMS_ATTEST stands here'));
const reason = (r: ReturnType<typeof verifyTpmSignature>): string => (r.ok ? 'ok' : r.reason);

describe('verifyTpmSignature', () => {
  const rsa = softwareAk('rsapss-hashlen');
  // Verify with the bare key, so only the cryptography decides.
  const rsaKey = verificationKey(rsa.publicKey);
  const pss = (saltLength: number): TpmtSignature => ({
    sigAlg: TPM_ALG.RSAPSS,
    signature: { hash: TPM_ALG.SHA256, sig: new Uint8Array(sign('sha256', message, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength })) },
  });

  it('RSAPSS: accepts salt = hash length and the maximum salt, nothing else', () => {
    expect(reason(verifyTpmSignature(rsaKey, message, pss(32)))).toBe('ok');
    expect(reason(verifyTpmSignature(rsaKey, message, pss(256 - 32 - 2)))).toBe('ok');
    expect(reason(verifyTpmSignature(rsaKey, message, pss(20)))).toBe('bad-signature');
    expect(reason(verifyTpmSignature(rsaKey, message, pss(0)))).toBe('bad-signature');
  });

  it('RSA: a signature shorter or longer than the modulus is bad, not an exception', () => {
    const good = pss(32) as TpmtSignature & { signature: { sig: Uint8Array } };
    const short = { ...good, signature: { ...good.signature, sig: good.signature.sig.subarray(1) } };
    const long = { ...good, signature: { ...good.signature, sig: Uint8Array.from([0, ...good.signature.sig]) } };
    expect(reason(verifyTpmSignature(rsaKey, message, short))).toBe('bad-signature');
    expect(reason(verifyTpmSignature(rsaKey, message, long))).toBe('bad-signature');
  });

  it('the hash named in the signature is the one used: naming another fails', () => {
    const ak = softwareAk('rsassa');
    const sig = tpmSign(ak, message) as TpmtSignature & { signature: { hash: number } };
    expect(reason(verifyTpmSignature(verificationKey(ak.publicKey), message, sig))).toBe('ok');
    const otherHash = { ...sig, signature: { ...sig.signature, hash: TPM_ALG.SHA384 } };
    expect(reason(verifyTpmSignature(verificationKey(ak.publicKey), message, otherHash))).toBe('bad-signature');
    const notAHash = { ...sig, signature: { ...sig.signature, hash: TPM_ALG.AES } };
    expect(reason(verifyTpmSignature(verificationKey(ak.publicKey), message, notAHash))).toBe('unsupported-signature');
  });

  for (const kind of ['ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521'] as const) {
    it(`${kind}: verifies; r wider than the curve is bad; r with extra leading zeros is fine`, () => {
      const ak = softwareAk(kind);
      const key = verificationKey(ak.public);
      const sig = tpmSign(ak, message) as TpmtSignature & { signature: { signatureR: Uint8Array } };
      expect(reason(verifyTpmSignature(key, message, sig))).toBe('ok');
      const padded = { ...sig, signature: { ...sig.signature, signatureR: Uint8Array.from([0, 0, ...sig.signature.signatureR]) } };
      expect(reason(verifyTpmSignature(key, message, padded))).toBe('ok');
      const wide = { ...sig, signature: { ...sig.signature, signatureR: Uint8Array.from([1, ...sig.signature.signatureR]) } };
      expect(reason(verifyTpmSignature(key, message, wide))).toBe('bad-signature');
      expect(reason(verifyTpmSignature(key, Uint8Array.from([...message, 0]), sig))).toBe('bad-signature');
    });
  }

  it('schemes a public key cannot check are unsupported, with a reason that says why', () => {
    const key = verificationKey(softwareAk('ecdsa-p256').publicKey);
    const hmac: TpmtSignature = { sigAlg: TPM_ALG.HMAC, signature: { hashAlg: TPM_ALG.SHA256, digest: new Uint8Array(32) } };
    const r = verifyTpmSignature(key, message, hmac);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toMatch(/secret HMAC key/);
    for (const sigAlg of [TPM_ALG.ECDAA, TPM_ALG.SM2, TPM_ALG.ECSCHNORR]) {
      const s: TpmtSignature = { sigAlg, signature: { hash: TPM_ALG.SHA256, signatureR: new Uint8Array(32), signatureS: new Uint8Array(32) } };
      expect(reason(verifyTpmSignature(key, message, s))).toBe('unsupported-signature');
    }
    expect(reason(verifyTpmSignature(key, message, { sigAlg: TPM_ALG.NULL, signature: null }))).toBe('unsupported-signature');
  });

  it('verifyTpmSignatureAsync (the math on the thread pool) answers exactly as verifyTpmSignature, case by case', async () => {
    const rsassa = softwareAk('rsassa');
    const ecc = softwareAk('ecdsa-p256');
    const rsassaSig = tpmSign(rsassa, message) as TpmtSignature & { signature: { sig: Uint8Array } };
    const eccSig = tpmSign(ecc, message) as TpmtSignature & { signature: { signatureS: Uint8Array } };
    const flipped = Uint8Array.from(rsassaSig.signature.sig);
    flipped[10]! ^= 0x01;
    const cases: Array<[string, Parameters<typeof verifyTpmSignature>[0], Uint8Array, TpmtSignature]> = [
      ['rsassa ok', verificationKey(rsassa.public), message, rsassaSig],
      ['rsassa flipped bit', verificationKey(rsassa.public), message, { ...rsassaSig, signature: { ...rsassaSig.signature, sig: flipped } }],
      ['rsassa other message', verificationKey(rsassa.public), Uint8Array.from([...message, 1]), rsassaSig],
      ['pss hash-length salt', rsaKey, message, pss(32)],
      ['pss maximum salt', rsaKey, message, pss(256 - 32 - 2)],
      ['pss other salt', rsaKey, message, pss(20)],
      ['ecdsa ok', verificationKey(ecc.public), message, eccSig],
      ['ecdsa s zeroed', verificationKey(ecc.public), message, { ...eccSig, signature: { ...eccSig.signature, signatureS: new Uint8Array(32) } }],
      ['ecdsa for an RSA key', verificationKey(rsassa.public), message, eccSig],
      ['hmac', verificationKey(ecc.public), message, { sigAlg: TPM_ALG.HMAC, signature: { hashAlg: TPM_ALG.SHA256, digest: new Uint8Array(32) } }],
    ];
    for (const [label, key, msg, sig] of cases) {
      const sync = verifyTpmSignature(key, msg, sig);
      expect({ label, result: await verifyTpmSignatureAsync(key, msg, sig) }).toEqual({ label, result: sync });
    }
    // Both outcomes occur among the cases: the comparison is not vacuous.
    expect(cases.map(([, k, m, s]) => verifyTpmSignature(k, m, s).ok)).toEqual([true, false, false, true, true, false, true, false, false, false]);
  });
});
