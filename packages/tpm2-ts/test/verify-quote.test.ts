// checkQuote: every key kind and AK format accepted; each single tampering
// rejected with its own reason; no flipped bit anywhere ever accepted.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { marshal, unmarshal } from '../src/codec/codec.js';
import { TPM_ALG } from '../src/constants/alg.js';
import { TPM_ST } from '../src/constants/st.js';
import { TPM2B_PUBLIC, TPMT_PUBLIC } from '../src/structures/public.js';
import { TPMT_SIGNATURE, type TpmtSignature } from '../src/structures/signature.js';
import { type CheckQuoteInput, type QuoteCheck, checkQuote } from '../src/verify/quote.js';
import { verificationKey } from '../src/verify/verification-key.js';
import { type KeyKind, randomPcrValues, softwareAk, softwareQuote, tpmSign, type Values } from './verify-software-quote.js';

const SHA256_BANK = { alg: TPM_ALG.SHA256, size: 32, pcrs: [0, 1, 2, 7] };
const SHA1_BANK = { alg: TPM_ALG.SHA1, size: 20, pcrs: [0, 10] };

function reasonOf(r: QuoteCheck): string {
  return r.ok ? 'ok' : r.reason;
}

const kinds: KeyKind[] = ['rsassa', 'rsapss-hashlen', 'rsapss-max', 'ecdsa-p256', 'ecdsa-p384', 'ecdsa-p521'];
const aks = Object.fromEntries(kinds.map((k) => [k, softwareAk(k)])) as Record<KeyKind, ReturnType<typeof softwareAk>>;

/** Offsets in a marshalled quote TPMS_ATTEST (Part 2 §10.12.12) with a 34-byte qualifiedSigner and a SHA-256 pcrDigest last. */
function offsets(attest: Uint8Array, nonceLength: number) {
  const extraData = 4 + 2 + 2 + 34 + 2;
  return { magic: 0, type: 4, extraData, clock: extraData + nonceLength, pcrDigest: attest.length - 32 };
}

describe('checkQuote accepts genuine quotes', () => {
  for (const kind of kinds) {
    it(`${kind}: with nonce, PCR values (two banks) and the requested selection`, () => {
      const ak = aks[kind];
      const q = softwareQuote(ak, randomPcrValues([SHA256_BANK, SHA1_BANK]));
      const r = checkQuote({
        akPublic: ak.public,
        attest: q.attest,
        signature: q.signature,
        nonce: q.nonce,
        pcrValues: q.values,
        pcrSelection: [
          { hashAlg: TPM_ALG.SHA1, pcrs: [10, 0] },
          { hashAlg: TPM_ALG.SHA256, pcrs: [0, 1, 2, 7] },
        ],
      });
      expect(reasonOf(r)).toBe('ok');
      if (!r.ok) return;
      expect(r.checked).toEqual({ nonce: true, pcrValues: true, pcrSelection: true });
      expect(r.hash.alg).toBe(ak.hash.alg);
      expect(r.attest.extraData).toEqual(q.nonce);
      expect(r.attest.clockInfo).toEqual({ clock: 123456789n, resetCount: 3, restartCount: 1, safe: true });
      expect(r.attest.firmwareVersion).toBe(0x2019102300163636n);
      expect(r.pcrSelection).toEqual([
        { hashAlg: TPM_ALG.SHA256, pcrs: [0, 1, 2, 7] },
        { hashAlg: TPM_ALG.SHA1, pcrs: [0, 10] },
      ]);
    });
  }

  it('takes the AK in every form: prepared, KeyObject, TPMT_PUBLIC, TPM2B_PUBLIC/TPMT_PUBLIC bytes, PEM, DER', () => {
    const ak = aks['ecdsa-p256'];
    const q = softwareQuote(ak, randomPcrValues([SHA256_BANK]));
    const forms = {
      prepared: verificationKey(ak.public),
      keyObject: ak.publicKey,
      tpmt: ak.public,
      tpm2bBytes: marshal(TPM2B_PUBLIC, ak.public),
      tpmtBytes: marshal(TPMT_PUBLIC, ak.public),
      pem: new Uint8Array(Buffer.from(ak.publicKey.export({ type: 'spki', format: 'pem' }))),
      der: new Uint8Array(ak.publicKey.export({ type: 'spki', format: 'der' })),
    };
    for (const [form, akPublic] of Object.entries(forms)) {
      expect([form, reasonOf(checkQuote({ akPublic, attest: q.attest, signature: q.signature, nonce: q.nonce, pcrValues: q.values }))]).toEqual([form, 'ok']);
    }
  });

  it('takes a decoded TPMT_SIGNATURE, and reports which optional checks were skipped', () => {
    const ak = aks.rsassa;
    const q = softwareQuote(ak, randomPcrValues([SHA256_BANK]));
    const r = checkQuote({ akPublic: ak.public, attest: q.attest, signature: unmarshal(TPMT_SIGNATURE, q.signature) });
    expect(r.ok && r.checked).toEqual({ nonce: false, pcrValues: false, pcrSelection: false });
  });

  it('accepts short ECDSA r/s (a TPM2B_ECC_PARAMETER without leading zeros)', () => {
    const ak = aks['ecdsa-p256'];
    // Re-sign until r starts with a zero byte (1 in 256), then strip it as some TPMs do.
    for (let i = 0; i < 4000; i++) {
      const q = softwareQuote(ak, randomPcrValues([SHA256_BANK]));
      const sig = unmarshal(TPMT_SIGNATURE, q.signature) as TpmtSignature & { signature: { signatureR: Uint8Array } };
      if (sig.signature.signatureR[0] !== 0) continue;
      const stripped = { ...sig, signature: { ...sig.signature, signatureR: sig.signature.signatureR.subarray(1) } };
      expect(reasonOf(checkQuote({ akPublic: ak.public, attest: q.attest, signature: stripped }))).toBe('ok');
      return;
    }
    throw new Error('no signature with a leading zero byte in r found');
  });
});

describe('checkQuote names each single tampering', () => {
  const ak = aks.rsassa;
  const q = softwareQuote(ak, randomPcrValues([SHA256_BANK]), new Uint8Array(randomBytes(16)));
  const at = offsets(q.attest, 16);
  const base: CheckQuoteInput = { akPublic: ak.public, attest: q.attest, signature: q.signature, nonce: q.nonce, pcrValues: q.values };
  const flip = (b: Uint8Array, i: number): Uint8Array => {
    if (i >= b.length) throw new Error(`offset ${i} is outside ${b.length} bytes`);
    const c = b.slice();
    c[i]! ^= 0x01;
    return c;
  };
  const check = (over: Partial<CheckQuoteInput>): string => reasonOf(checkQuote({ ...base, ...over }));

  it('the genuine quote passes (the baseline for every case below)', () => {
    expect(check({})).toBe('ok');
  });

  it('one byte of the magic: bad-magic', () => expect(check({ attest: flip(q.attest, at.magic + 3) })).toBe('bad-magic'));

  it('the type: not-a-quote', () => {
    const a = q.attest.slice();
    new DataView(a.buffer).setUint16(at.type, TPM_ST.ATTEST_CERTIFY);
    expect(check({ attest: a })).toBe('not-a-quote');
  });

  it('a truncated or extended attestation: malformed', () => {
    expect(check({ attest: q.attest.subarray(0, q.attest.length - 1) })).toBe('malformed');
    expect(check({ attest: Uint8Array.from([...q.attest, 0]) })).toBe('malformed');
    expect(check({ attest: q.attest.subarray(0, 3) })).toBe('malformed');
  });

  it('one byte of extraData: nonce-mismatch; a different nonce: nonce-mismatch', () => {
    expect(check({ attest: flip(q.attest, at.extraData + 5) })).toBe('nonce-mismatch');
    expect(check({ nonce: flip(q.nonce, 0) })).toBe('nonce-mismatch');
    expect(check({ nonce: q.nonce.subarray(1) })).toBe('nonce-mismatch');
  });

  it('one byte of extraData with no nonce to compare: the signature catches it', () => {
    expect(check({ attest: flip(q.attest, at.extraData + 5), nonce: undefined })).toBe('bad-signature');
  });

  it('one byte of the clock or the pcrDigest: bad-signature', () => {
    expect(check({ attest: flip(q.attest, at.clock + 7) })).toBe('bad-signature');
    expect(check({ attest: flip(q.attest, at.pcrDigest + 31) })).toBe('bad-signature');
  });

  it('one byte of the signature: bad-signature', () => {
    expect(check({ signature: flip(q.signature, 100) })).toBe('bad-signature');
  });

  it('a truncated signature: malformed-signature; an HMAC one: unsupported-signature', () => {
    expect(check({ signature: q.signature.subarray(0, 40) })).toBe('malformed-signature');
    const hmac = marshal(TPMT_SIGNATURE, { sigAlg: TPM_ALG.HMAC, signature: { hashAlg: TPM_ALG.SHA256, digest: new Uint8Array(32) } });
    expect(check({ signature: hmac })).toBe('unsupported-signature');
  });

  it('a signature under a scheme the AK cannot use: signature-key-mismatch', () => {
    const pss = marshal(TPMT_SIGNATURE, tpmSign(aks['rsapss-hashlen'], q.attest));
    // The AK's public area fixes RSASSA: a PSS signature cannot be its own.
    expect(check({ signature: pss })).toBe('signature-key-mismatch');
    const ecdsa = marshal(TPMT_SIGNATURE, tpmSign(aks['ecdsa-p256'], q.attest));
    expect(check({ signature: ecdsa })).toBe('signature-key-mismatch');
    // Given only the key (no public area) the PSS signature simply does not verify with it.
    expect(check({ signature: pss, akPublic: ak.publicKey })).toBe('bad-signature');
  });

  it('another AK: bad-signature; a non-key: bad-key', () => {
    expect(check({ akPublic: softwareAk('rsassa').public })).toBe('bad-signature');
    expect(check({ akPublic: new Uint8Array([1, 2, 3]) })).toBe('bad-key');
  });

  it('one byte of one PCR value: pcr-digest-mismatch', () => {
    const values: Values = new Map([...q.values].map(([alg, bank]) => [alg, new Map(bank)]));
    values.get(TPM_ALG.SHA256)!.set(2, flip(values.get(TPM_ALG.SHA256)!.get(2)!, 17));
    expect(check({ pcrValues: values })).toBe('pcr-digest-mismatch');
  });

  it('a PCR value missing, one extra, or another selection asked for: pcr-selection-mismatch', () => {
    const missing: Values = new Map([[TPM_ALG.SHA256, new Map([...q.values.get(TPM_ALG.SHA256)!].filter(([p]) => p !== 7))]]);
    expect(check({ pcrValues: missing })).toBe('pcr-selection-mismatch');
    const extra: Values = new Map([[TPM_ALG.SHA256, new Map([...q.values.get(TPM_ALG.SHA256)!, [8, new Uint8Array(32)]])]]);
    expect(check({ pcrValues: extra })).toBe('pcr-selection-mismatch');
    expect(check({ pcrSelection: [{ hashAlg: TPM_ALG.SHA256, pcrs: [0, 1, 2, 7, 8] }] })).toBe('pcr-selection-mismatch');
    expect(check({ pcrSelection: [{ hashAlg: TPM_ALG.SHA1, pcrs: [0, 1, 2, 7] }] })).toBe('pcr-selection-mismatch');
  });

  it('a PCR index no selection can hold (39 would alias 7 in a 32-bit mask) never matches', () => {
    const bank = new Map(q.values.get(TPM_ALG.SHA256)!);
    bank.delete(7);
    bank.set(39, new Uint8Array(32));
    expect(check({ pcrValues: new Map([[TPM_ALG.SHA256, bank]]) })).toBe('pcr-selection-mismatch');
  });

  it('arbitrary bytes as attestation and signature: a named rejection, never an exception', () => {
    const reasons = new Set<string>();
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ minLength: 6, maxLength: 300 }).map((b) => Uint8Array.from([0xff, 0x54, 0x43, 0x47, 0x80, 0x18, ...b.subarray(6)]))),
        fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.constant(q.signature)),
        (attest, signature) => {
          const r = checkQuote({ ...base, attest, signature });
          expect(r.ok).toBe(false);
          if (!r.ok) reasons.add(r.reason);
        },
      ),
      { numRuns: 300 },
    );
    // The generator reaches past the header checks into the body and the signature.
    expect(reasons).toContain('bad-magic');
    expect(reasons).toContain('malformed');
  });

  it('rejects every single flipped bit in the attestation, the signature and the PCR values', () => {
    const sha256 = q.values.get(TPM_ALG.SHA256)!;
    const flat = [...sha256.keys()];
    fc.assert(
      fc.property(fc.constantFrom('attest', 'signature', 'pcr'), fc.nat(), fc.nat({ max: 7 }), (where, n, bit) => {
        const over: { -readonly [K in keyof CheckQuoteInput]?: CheckQuoteInput[K] } = {};
        if (where === 'attest') {
          const a = q.attest.slice();
          a[n % a.length]! ^= 1 << bit;
          over.attest = a;
        } else if (where === 'signature') {
          const s = q.signature.slice();
          s[n % s.length]! ^= 1 << bit;
          over.signature = s;
        } else {
          const p = flat[n % flat.length]!;
          const v = sha256.get(p)!.slice();
          v[n % v.length]! ^= 1 << bit;
          over.pcrValues = new Map([[TPM_ALG.SHA256, new Map([...sha256, [p, v]])]]);
        }
        expect(checkQuote({ ...base, ...over }).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
