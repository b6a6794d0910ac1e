// The verifier's input readers: public keys in every format, PCR values as
// JSON, PCR files as tpm2-tools writes them. Garbage in gets a typed error.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { marshal } from '../src/codec/codec.js';
import { TPM_ALG } from '../src/constants/alg.js';
import { generateKeyPair } from '../src/crypto/key-pair.js';
import { TpmPublicKeyError } from '../src/crypto/public-key.js';
import { PcrSelectionError } from '../src/pcrs/selection.js';
import { encodeTpm2ToolsPcrFile, PcrFileError } from '../src/pcrs/tpm2-tools-file.js';
import { TPM2B_PUBLIC, TPMT_PUBLIC } from '../src/structures/public.js';
import { readPcrFile } from '../src/verify/pcr-file.js';
import { pcrValuesFromJson, pcrValuesToJson, sameSelection, selectionOfValues } from '../src/verify/pcr-values.js';
import { parsePublicKey } from '../src/verify/public-key-file.js';
import { verificationKey } from '../src/verify/verification-key.js';
import { randomPcrValues, softwareAk } from './verify-software-quote.js';

const spki = (k: { export(o: { type: 'spki'; format: 'der' }): Buffer }): string => k.export({ type: 'spki', format: 'der' }).toString('hex');

describe('parsePublicKey', () => {
  for (const kind of ['rsassa', 'ecdsa-p256', 'ecdsa-p384'] as const) {
    it(`${kind}: recognises each format and yields the same key`, () => {
      const ak = softwareAk(kind);
      const want = spki(ak.publicKey);
      const inputs = {
        'tpm2b-public': marshal(TPM2B_PUBLIC, ak.public),
        'tpmt-public': marshal(TPMT_PUBLIC, ak.public),
        pem: new Uint8Array(Buffer.from(ak.publicKey.export({ type: 'spki', format: 'pem' }))),
        der: new Uint8Array(ak.publicKey.export({ type: 'spki', format: 'der' })),
      } as const;
      for (const [format, bytes] of Object.entries(inputs)) {
        const p = parsePublicKey(bytes);
        expect(p.format).toBe(format);
        expect(spki(p.key)).toBe(want);
        expect(p.public !== undefined).toBe(format.startsWith('tpm'));
      }
    });
  }

  it('reads PKCS#1 RSA PEM too', () => {
    // generateKeyPair: a key safe to export (straight from node's generation, export can deadlock in Node 20).
    const { publicKey } = generateKeyPair({ type: 'rsa', modulusLength: 2048 });
    const p = parsePublicKey(new Uint8Array(Buffer.from(publicKey.export({ type: 'pkcs1', format: 'pem' }))));
    expect(spki(p.key)).toBe(spki(publicKey));
  });

  it('anything else is a TpmPublicKeyError, never another exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        try {
          parsePublicKey(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(TpmPublicKeyError);
        }
      }),
      { numRuns: 300 },
    );
    expect(() => parsePublicKey(new Uint8Array(Buffer.from('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')))).toThrow(TpmPublicKeyError);
    expect(() => parsePublicKey(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00))).toThrow(TpmPublicKeyError);
  });

  it('an ECC public area whose point is not on the curve is refused', () => {
    const ak = softwareAk('ecdsa-p256');
    const point = ak.public.unique as { x: Uint8Array; y: Uint8Array };
    const y = point.y.slice();
    y[31]! ^= 1;
    expect(() => verificationKey(marshal(TPM2B_PUBLIC, { ...ak.public, unique: { x: point.x, y } }))).toThrow(TpmPublicKeyError);
  });
});

describe('PCR values as JSON', () => {
  it('round-trips through pcrValuesToJson', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 23 }), { minLength: 1, maxLength: 8 }), fc.uniqueArray(fc.integer({ min: 0, max: 31 }), { maxLength: 4 }), (a, b) => {
        const values = randomPcrValues([
          { alg: TPM_ALG.SHA256, size: 32, pcrs: a },
          { alg: TPM_ALG.SHA1, size: 20, pcrs: b },
        ]);
        const back = pcrValuesFromJson(JSON.parse(JSON.stringify(pcrValuesToJson(values))));
        expect(back).toEqual(values);
        expect(sameSelection(selectionOfValues(back), selectionOfValues(values))).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('accepts bank spellings and 0x prefixes; names every bad entry', () => {
    const v = pcrValuesFromJson({ 'SHA-256': { '7': `0x${'ab'.repeat(32)}` } });
    expect(v.get(TPM_ALG.SHA256)?.get(7)).toEqual(new Uint8Array(32).fill(0xab));
    const bad: [unknown, RegExp][] = [
      [[], /object of banks/],
      [{ md5: {} }, /'md5' is not a PCR bank/],
      [{ sha256: { '32': '00'.repeat(32) } }, /not a PCR index/],
      [{ sha256: { x: '00'.repeat(32) } }, /not a PCR index/],
      [{ sha256: { '1': 'zz' } }, /not a hex string/],
      [{ sha256: { '1': 5 } }, /not a hex string/],
      [{ sha256: { '1': '00'.repeat(20) } }, /20 bytes, a sha256 PCR holds 32/],
      [{ sha256: [] }, /must be an object/],
    ];
    for (const [json, message] of bad) expect(() => pcrValuesFromJson(json)).toThrow(message);
    expect(() => pcrValuesFromJson({ sha256: {}, SHA256: {} })).toThrow(PcrSelectionError);
  });
});

describe('readPcrFile', () => {
  const values = randomPcrValues([
    { alg: TPM_ALG.SHA256, size: 32, pcrs: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
    { alg: TPM_ALG.SHA1, size: 20, pcrs: [0] },
  ]);
  const selection = selectionOfValues(values);

  it('reads the tpm2-tools serialized format (two digest lists) by content', () => {
    const r = readPcrFile(encodeTpm2ToolsPcrFile(selection, values));
    expect(r.format).toBe('tpm2-tools-serialized');
    expect(r.values).toEqual(values);
  });

  it('reads bare concatenated values when given the quote selection, and only then', () => {
    const raw = new Uint8Array(Buffer.concat(selection.flatMap((s) => s.pcrs.map((p) => values.get(s.hashAlg)!.get(p)!))));
    expect(readPcrFile(raw, selection)).toEqual({ format: 'tpm2-tools-values', values });
    expect(() => readPcrFile(raw)).toThrow(/need the quote/);
    expect(() => readPcrFile(raw.subarray(1), selection)).toThrow(PcrFileError);
  });

  it('reads JSON', () => {
    const r = readPcrFile(new Uint8Array(Buffer.from(`  ${JSON.stringify(pcrValuesToJson(values))}`)));
    expect(r).toEqual({ format: 'json', values });
    expect(() => readPcrFile(new Uint8Array(Buffer.from('{"sha256": ')))).toThrow(PcrFileError);
    expect(() => readPcrFile(new Uint8Array(Buffer.from('{"sha256": {"0": "00"}}')))).toThrow(/1 bytes/);
  });

  it('random bytes get PcrFileError, never another exception', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 1400 }), fc.constant(new Uint8Array(randomBytes(668)))), (bytes) => {
        try {
          readPcrFile(bytes, selection);
        } catch (e) {
          expect(e).toBeInstanceOf(PcrFileError);
        }
      }),
      { numRuns: 200 },
    );
  });
});
