// Quotes signed in software, shaped exactly like TPM2_Quote's output, for the
// pure-logic verifier tests (a fake TPM is fine there: the real-TPM paths are
// covered by test/interop-tpm2-quote.test.ts). The PCR digest is computed
// here with node:crypto directly, not with the library's helpers under test.
import { constants, createHash, type KeyObject, randomBytes, sign } from 'node:crypto';
import { generateKeyPair } from '../src/crypto/key-pair.js';
import { marshal } from '../src/codec/codec.js';
import { TPM_ALG, TPM_ECC } from '../src/constants/alg.js';
import { TPM_GENERATED_VALUE, TPM_ST } from '../src/constants/st.js';
import { TPMS_ATTEST } from '../src/structures/attest.js';
import type { TpmlPcrSelection } from '../src/structures/basic.js';
import type { TpmtPublic } from '../src/structures/public.js';
import { TPMT_SIGNATURE, type TpmtSignature } from '../src/structures/signature.js';
import { AK_TEMPLATE_ECC, AK_TEMPLATE_RSA } from '../src/templates/ak.js';

export type KeyKind = 'rsassa' | 'rsapss-hashlen' | 'rsapss-max' | 'ecdsa-p256' | 'ecdsa-p384' | 'ecdsa-p521';

export interface SoftwareAk {
  readonly kind: KeyKind;
  readonly public: TpmtPublic;
  readonly publicKey: KeyObject;
  readonly privateKey: KeyObject;
  readonly hash: { readonly alg: number; readonly node: string };
}

const b64 = (s: string | undefined): Uint8Array => new Uint8Array(Buffer.from(s!, 'base64url'));

export function softwareAk(kind: KeyKind): SoftwareAk {
  if (kind.startsWith('rsa')) {
    const { publicKey, privateKey } = generateKeyPair({ type: 'rsa', modulusLength: 2048 });
    const scheme = kind === 'rsassa' ? TPM_ALG.RSASSA : TPM_ALG.RSAPSS;
    const pub: TpmtPublic = {
      ...AK_TEMPLATE_RSA,
      parameters: { ...(AK_TEMPLATE_RSA.parameters as object), scheme: { scheme, details: { hashAlg: TPM_ALG.SHA256 } } } as TpmtPublic['parameters'],
      unique: b64(publicKey.export({ format: 'jwk' }).n),
    };
    return { kind, public: pub, publicKey, privateKey, hash: { alg: TPM_ALG.SHA256, node: 'sha256' } };
  }
  const curve = { 'ecdsa-p256': ['P-256', TPM_ECC.NIST_P256, TPM_ALG.SHA256, 'sha256'], 'ecdsa-p384': ['P-384', TPM_ECC.NIST_P384, TPM_ALG.SHA384, 'sha384'], 'ecdsa-p521': ['P-521', TPM_ECC.NIST_P521, TPM_ALG.SHA512, 'sha512'] }[
    kind as 'ecdsa-p256'
  ] as [string, number, number, string];
  const { publicKey, privateKey } = generateKeyPair({ type: 'ec', namedCurve: curve[0] });
  const jwk = publicKey.export({ format: 'jwk' });
  const pub: TpmtPublic = {
    ...AK_TEMPLATE_ECC,
    parameters: { ...(AK_TEMPLATE_ECC.parameters as object), curveID: curve[1], scheme: { scheme: TPM_ALG.ECDSA, details: { hashAlg: curve[2] } } } as TpmtPublic['parameters'],
    unique: { x: b64(jwk.x), y: b64(jwk.y) },
  };
  return { kind, public: pub, publicKey, privateKey, hash: { alg: curve[2], node: curve[3] } };
}

/** Signs like the TPM: TPMT_SIGNATURE with the AK's scheme and hash. */
export function tpmSign(ak: SoftwareAk, message: Uint8Array): TpmtSignature {
  const h = ak.hash;
  switch (ak.kind) {
    case 'rsassa':
      return { sigAlg: TPM_ALG.RSASSA, signature: { hash: h.alg, sig: new Uint8Array(sign(h.node, message, ak.privateKey)) } };
    case 'rsapss-hashlen':
    case 'rsapss-max': {
      const saltLength = ak.kind === 'rsapss-max' ? constants.RSA_PSS_SALTLEN_MAX_SIGN : 32;
      const sig = sign(h.node, message, { key: ak.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
      return { sigAlg: TPM_ALG.RSAPSS, signature: { hash: h.alg, sig: new Uint8Array(sig) } };
    }
    default: {
      const raw = sign(h.node, message, { key: ak.privateKey, dsaEncoding: 'ieee-p1363' });
      const half = raw.length / 2;
      return { sigAlg: TPM_ALG.ECDSA, signature: { hash: h.alg, signatureR: new Uint8Array(raw.subarray(0, half)), signatureS: new Uint8Array(raw.subarray(half)) } };
    }
  }
}

/** PCR values by bank then index, as checkQuote takes them. */
export type Values = Map<number, Map<number, Uint8Array>>;

export function randomPcrValues(banks: readonly { alg: number; size: number; pcrs: readonly number[] }[]): Values {
  return new Map(banks.map((b) => [b.alg, new Map(b.pcrs.map((p) => [p, new Uint8Array(randomBytes(b.size))]))]));
}

function tpmlOf(values: Values): TpmlPcrSelection {
  return [...values].map(([hash, bank]) => {
    const sel = new Uint8Array(3);
    for (const p of bank.keys()) sel[p >> 3]! |= 1 << (p & 7);
    return { hash, pcrSelect: sel };
  });
}

export interface SoftwareQuote {
  readonly attest: Uint8Array;
  readonly signature: Uint8Array;
  readonly nonce: Uint8Array;
  readonly values: Values;
}

/** A quote over `values` (banks in map order, indices ascending) signed by `ak`. */
export function softwareQuote(ak: SoftwareAk, values: Values, nonce: Uint8Array = new Uint8Array(randomBytes(20))): SoftwareQuote {
  const h = createHash(ak.hash.node);
  for (const bank of values.values()) for (const p of [...bank.keys()].sort((a, b) => a - b)) h.update(bank.get(p)!);
  const attest = marshal(TPMS_ATTEST, {
    magic: TPM_GENERATED_VALUE,
    type: TPM_ST.ATTEST_QUOTE,
    qualifiedSigner: Uint8Array.from([0x00, 0x0b, ...randomBytes(32)]),
    extraData: nonce,
    clockInfo: { clock: 123456789n, resetCount: 3, restartCount: 1, safe: true },
    firmwareVersion: 0x2019102300163636n,
    attested: { pcrSelect: tpmlOf(values), pcrDigest: new Uint8Array(h.digest()) },
  });
  return { attest, signature: marshal(TPMT_SIGNATURE, tpmSign(ak, attest)), nonce, values };
}
