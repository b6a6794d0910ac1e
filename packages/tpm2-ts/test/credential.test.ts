// MakeCredential in software, checked by activating in software with the EK's
// private key (the steps of TPM2_ActivateCredential, Part 3 §12.5, written
// out independently here). Activation by real TPMs (swtpm through
// tpm2_activatecredential and through our own client) is in
// test/credential-activation.test.ts.
import { constants, createDecipheriv, createHmac, createPublicKey, diffieHellman, type KeyObject, privateDecrypt, randomBytes, timingSafeEqual } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { marshal, unmarshal, unmarshalPrefix } from '../src/codec/codec.js';
import { TpmUnmarshalError } from '../src/codec/errors.js';
import { TPM_ALG, TPM_ECC } from '../src/constants/alg.js';
import { kdfa, kdfe } from '../src/crypto/kdf.js';
import { generateKeyPair } from '../src/crypto/key-pair.js';
import { objectName } from '../src/crypto/name.js';
import { CredentialError, makeCredential } from '../src/credential/make-credential.js';
import { decodeTpm2ToolsCredential, encodeTpm2ToolsCredential } from '../src/credential/tpm2-tools-file.js';
import { TPM2B_DIGEST } from '../src/structures/basic.js';
import { TPM2B_ENCRYPTED_SECRET, TPM2B_ID_OBJECT, TPMS_ECC_POINT, type TpmtPublic } from '../src/structures/public.js';
import { EK_TEMPLATE_ECC_P256, EK_TEMPLATE_RSA_2048 } from '../src/templates/ek.js';

const b64 = (s: string | undefined): Uint8Array => new Uint8Array(Buffer.from(s!, 'base64url'));
const HASH: Record<number, { node: string; size: number }> = { [TPM_ALG.SHA256]: { node: 'sha256', size: 32 }, [TPM_ALG.SHA384]: { node: 'sha384', size: 48 } };

interface SoftwareEk {
  readonly public: TpmtPublic;
  readonly privateKey: KeyObject;
}

function rsaEk(): SoftwareEk {
  const { publicKey, privateKey } = generateKeyPair({ type: 'rsa', modulusLength: 2048 });
  return { public: { ...EK_TEMPLATE_RSA_2048, unique: b64(publicKey.export({ format: 'jwk' }).n) }, privateKey };
}

function eccEk(curve: 'P-256' | 'P-384'): SoftwareEk {
  const { publicKey, privateKey } = generateKeyPair({ type: 'ec', namedCurve: curve });
  const jwk = publicKey.export({ format: 'jwk' });
  const unique = { x: b64(jwk.x), y: b64(jwk.y) };
  if (curve === 'P-256') return { public: { ...EK_TEMPLATE_ECC_P256, unique }, privateKey };
  // A high-range-style P-384 EK: SHA-384 nameAlg, AES-256 (EK profile template H-3).
  return {
    public: {
      ...EK_TEMPLATE_ECC_P256,
      nameAlg: TPM_ALG.SHA384,
      parameters: { ...(EK_TEMPLATE_ECC_P256.parameters as object), symmetric: { algorithm: TPM_ALG.AES, keyBits: 256, mode: TPM_ALG.CFB }, curveID: TPM_ECC.NIST_P384 },
      unique,
    } as TpmtPublic,
    privateKey,
  };
}

/** The TPM's side, in software: recover the seed with the EK private key, check the HMAC over the Name, decrypt. */
function activateInSoftware(ek: SoftwareEk, name: Uint8Array, credentialBlob: Uint8Array, encryptedSecret: Uint8Array): Uint8Array {
  const h = HASH[ek.public.nameAlg]!;
  let seed: Uint8Array;
  if (ek.public.type === TPM_ALG.RSA) {
    seed = privateDecrypt({ key: ek.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: h.node, oaepLabel: Buffer.from('IDENTITY\0') }, encryptedSecret);
  } else {
    const point = unmarshal(TPMS_ECC_POINT, encryptedSecret);
    const crv = (ek.public.parameters as { curveID: number }).curveID === TPM_ECC.NIST_P256 ? 'P-256' : 'P-384';
    const ephemeral = createPublicKey({ key: { kty: 'EC', crv, x: Buffer.from(point.x).toString('base64url'), y: Buffer.from(point.y).toString('base64url') }, format: 'jwk' });
    const z = diffieHellman({ privateKey: ek.privateKey, publicKey: ephemeral });
    seed = kdfe(ek.public.nameAlg, z, 'IDENTITY', point.x, (ek.public.unique as { x: Uint8Array }).x, h.size * 8);
  }
  const { value: integrity, size } = unmarshalPrefix(TPM2B_DIGEST, credentialBlob);
  const encIdentity = credentialBlob.subarray(size);
  const hmacKey = kdfa(ek.public.nameAlg, seed, 'INTEGRITY', new Uint8Array(0), new Uint8Array(0), h.size * 8);
  const expected = createHmac(h.node, hmacKey).update(encIdentity).update(name).digest();
  if (expected.length !== integrity.length || !timingSafeEqual(expected, integrity)) throw new Error('integrity HMAC mismatch');
  const keyBits = (ek.public.parameters as { symmetric: { keyBits: number } }).symmetric.keyBits;
  const symKey = kdfa(ek.public.nameAlg, seed, 'STORAGE', name, new Uint8Array(0), keyBits);
  const d = createDecipheriv(`aes-${keyBits}-cfb`, symKey, Buffer.alloc(16));
  return unmarshal(TPM2B_DIGEST, Buffer.concat([d.update(encIdentity), d.final()]));
}

const akName = (): Uint8Array => Uint8Array.from([0x00, 0x0b, ...randomBytes(32)]);

const eks: [string, () => SoftwareEk][] = [
  ['RSA 2048 EK', rsaEk],
  ['ECC P-256 EK', () => eccEk('P-256')],
  ['ECC P-384 EK (SHA-384, AES-256)', () => eccEk('P-384')],
];

describe('makeCredential', () => {
  for (const [label, make] of eks) {
    describe(label, () => {
      const ek = make();
      const digestSize = HASH[ek.public.nameAlg]!.size;

      it('the EK holder recovers the secret for the right Name', () => {
        fc.assert(
          fc.property(fc.uint8Array({ minLength: 1, maxLength: digestSize }), (secret) => {
            const name = akName();
            const c = makeCredential({ ekPublic: ek.public, name, secret });
            expect(activateInSoftware(ek, name, c.credentialBlob, c.encryptedSecret)).toEqual(secret);
          }),
          { numRuns: 15 },
        );
      });

      it('the credential is bound to the Name: another Name fails the integrity check', () => {
        const secret = randomBytes(16);
        const c = makeCredential({ ekPublic: ek.public, name: akName(), secret });
        expect(() => activateInSoftware(ek, akName(), c.credentialBlob, c.encryptedSecret)).toThrow(/integrity HMAC mismatch/);
      });

      it('every byte of the blob is covered: any flipped bit fails activation', () => {
        const name = akName();
        const c = makeCredential({ ekPublic: ek.public, name, secret: randomBytes(digestSize) });
        fc.assert(
          fc.property(fc.nat({ max: c.credentialBlob.length - 1 }), fc.nat({ max: 7 }), (at, bit) => {
            const blob = c.credentialBlob.slice();
            blob[at]! ^= 1 << bit;
            expect(() => activateInSoftware(ek, name, blob, c.encryptedSecret)).toThrow();
          }),
          { numRuns: 30 },
        );
      });

      it('has the sizes ActivateCredential expects and is randomised', () => {
        const name = akName();
        const secret = randomBytes(20);
        const a = makeCredential({ ekPublic: ek.public, name, secret });
        const b = makeCredential({ ekPublic: ek.public, name, secret });
        // TPM2B_DIGEST(HMAC) || AES-CFB of TPM2B_DIGEST(secret): CFB keeps the length.
        expect(a.credentialBlob).toHaveLength(2 + digestSize + 2 + secret.length);
        if (ek.public.type === TPM_ALG.RSA) expect(a.encryptedSecret).toHaveLength(256);
        else expect(unmarshal(TPMS_ECC_POINT, a.encryptedSecret).x).toHaveLength(digestSize === 32 ? 32 : 48);
        expect(Buffer.from(a.encryptedSecret).equals(Buffer.from(b.encryptedSecret))).toBe(false);
        expect(Buffer.from(a.credentialBlob).equals(Buffer.from(b.credentialBlob))).toBe(false);
        // Both fit their wire structures.
        expect(() => marshal(TPM2B_ID_OBJECT, a.credentialBlob)).not.toThrow();
        expect(() => marshal(TPM2B_ENCRYPTED_SECRET, a.encryptedSecret)).not.toThrow();
      });

      it('rejects a secret longer than the nameAlg digest, or empty', () => {
        expect(() => makeCredential({ ekPublic: ek.public, name: akName(), secret: new Uint8Array(digestSize + 1) })).toThrow(CredentialError);
        expect(() => makeCredential({ ekPublic: ek.public, name: akName(), secret: new Uint8Array(0) })).toThrow(CredentialError);
      });
    });
  }

  it('refuses keys that are not restricted decryption keys, non-AES-CFB EKs and non-Names', () => {
    const ek = rsaEk();
    const secret = new Uint8Array(16);
    const signing = { ...ek.public, objectAttributes: { ...ek.public.objectAttributes, decrypt: false, sign: true } };
    expect(() => makeCredential({ ekPublic: signing, name: akName(), secret })).toThrow(/restricted decryption key/);
    const ofb = { ...ek.public, parameters: { ...(ek.public.parameters as object), symmetric: { algorithm: TPM_ALG.AES, keyBits: 128, mode: TPM_ALG.OFB } } } as TpmtPublic;
    expect(() => makeCredential({ ekPublic: ofb, name: akName(), secret })).toThrow(/AES-CFB/);
    expect(() => makeCredential({ ekPublic: ek.public, name: Uint8Array.of(0x40, 0x00, 0x00, 0x01), secret })).toThrow(/not an object Name/);
    expect(() => makeCredential({ ekPublic: ek.public, name: Uint8Array.from([0x00, 0x0b, 1, 2, 3]), secret })).toThrow(/not an object Name/);
  });

  it('works with a real object Name computed from a public area', () => {
    const ek = eccEk('P-256');
    const name = objectName(ek.public);
    const secret = randomBytes(32);
    const c = makeCredential({ ekPublic: ek.public, name, secret });
    expect(activateInSoftware(ek, name, c.credentialBlob, c.encryptedSecret)).toEqual(new Uint8Array(secret));
  });
});

describe('tpm2-tools credential file', () => {
  it('round-trips and starts with the 0xBADCC0DE version-1 header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 132 }), fc.uint8Array({ maxLength: 512 }), (credentialBlob, encryptedSecret) => {
        const file = encodeTpm2ToolsCredential({ credentialBlob, encryptedSecret });
        expect(Buffer.from(file.subarray(0, 8)).toString('hex')).toBe('badcc0de00000001');
        expect(decodeTpm2ToolsCredential(file)).toEqual({ credentialBlob, encryptedSecret });
      }),
    );
  });

  it('rejects a wrong magic, version, truncation or trailing bytes with TpmUnmarshalError', () => {
    const file = encodeTpm2ToolsCredential({ credentialBlob: new Uint8Array(10), encryptedSecret: new Uint8Array(5) });
    const bad = (mutate: (b: Uint8Array) => Uint8Array): unknown => {
      try {
        decodeTpm2ToolsCredential(mutate(file.slice()));
        return undefined;
      } catch (e) {
        return e;
      }
    };
    expect(bad((b) => ((b[0] = 0), b))).toBeInstanceOf(TpmUnmarshalError);
    expect(bad((b) => ((b[7] = 2), b))).toBeInstanceOf(TpmUnmarshalError);
    expect(bad((b) => b.subarray(0, b.length - 1))).toBeInstanceOf(TpmUnmarshalError);
    expect(bad((b) => Uint8Array.from([...b, 0]))).toBeInstanceOf(TpmUnmarshalError);
  });
});
