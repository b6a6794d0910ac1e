/**
 * The AK and EK public-area checks: every TCG template we create passes,
 * and every single deviation that would make quotes or credentials
 * meaningless is refused with its named reason (fast-check explores
 * combinations: whatever is accepted has every required property).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AK_TEMPLATE_ECC,
  AK_TEMPLATE_RSA,
  EK_TEMPLATE_ECC_P256,
  EK_TEMPLATE_ECC_P384,
  EK_TEMPLATE_RSA_2048,
  TPM_ALG,
  TPM_ECC,
  type TpmtPublic,
} from '@vigil/tpm2-ts';
import { checkAkPublic } from '../src/registrar/ak-policy.js';
import { checkEkPublic } from '../src/registrar/ek-policy.js';
import { EnrollmentRefusal } from '../src/registrar/refusal.js';

/** A template with its unique field filled as a TPM would (the modulus or the point). */
function withKey(template: TpmtPublic): TpmtPublic {
  if (template.type === TPM_ALG.RSA) {
    const bits = (template.parameters as { keyBits: number }).keyBits;
    return { ...template, unique: new Uint8Array(bits / 8).fill(0xa5) };
  }
  const size = (template.parameters as { curveID: number }).curveID === TPM_ECC.NIST_P384 ? 48 : 32;
  return { ...template, unique: { x: new Uint8Array(size).fill(1), y: new Uint8Array(size).fill(2) } };
}

function reasonOf(check: () => void): string | undefined {
  try {
    check();
    return undefined;
  } catch (err) {
    if (err instanceof EnrollmentRefusal) return err.reason;
    throw err;
  }
}

const AK_REQUIRED = ['restricted', 'sign', 'fixedTPM', 'fixedParent', 'sensitiveDataOrigin'] as const;

describe('checkAkPublic', () => {
  it('accepts the RSA and ECC AK templates', () => {
    expect(reasonOf(() => checkAkPublic(withKey(AK_TEMPLATE_RSA)))).toBeUndefined();
    expect(reasonOf(() => checkAkPublic(withKey(AK_TEMPLATE_ECC)))).toBeUndefined();
  });

  it.each(AK_REQUIRED)('refuses an AK without %s', (attribute) => {
    for (const template of [AK_TEMPLATE_RSA, AK_TEMPLATE_ECC]) {
      const ak = withKey({ ...template, objectAttributes: { ...template.objectAttributes, [attribute]: false } });
      expect(reasonOf(() => checkAkPublic(ak))).toBe('ak-attributes');
    }
  });

  it('refuses an AK that can also decrypt, a SHA-1 nameAlg, a NULL or HMAC scheme, RSA-1024, P-521 and a modulus shorter than keyBits', () => {
    const rsa = withKey(AK_TEMPLATE_RSA);
    const rsaParams = (changes: object) => ({ ...(rsa.parameters as object), ...changes }) as TpmtPublic['parameters'];
    const cases: TpmtPublic[] = [
      { ...rsa, objectAttributes: { ...rsa.objectAttributes, decrypt: true } },
      { ...rsa, nameAlg: TPM_ALG.SHA1 },
      { ...rsa, parameters: rsaParams({ scheme: { scheme: TPM_ALG.NULL, details: null } }) },
      { ...rsa, parameters: rsaParams({ scheme: { scheme: TPM_ALG.RSASSA, details: { hashAlg: TPM_ALG.SHA1 } } }) },
      { ...rsa, parameters: rsaParams({ keyBits: 1024 }), unique: new Uint8Array(128) },
      { ...rsa, unique: new Uint8Array(255) },
      withKey({ ...AK_TEMPLATE_ECC, parameters: { ...(AK_TEMPLATE_ECC.parameters as object), curveID: TPM_ECC.NIST_P521 } as TpmtPublic['parameters'] }),
      withKey({
        ...AK_TEMPLATE_ECC,
        parameters: { ...(AK_TEMPLATE_ECC.parameters as object), scheme: { scheme: TPM_ALG.RSASSA, details: { hashAlg: TPM_ALG.SHA256 } } } as TpmtPublic['parameters'],
      }),
    ];
    for (const ak of cases) expect(reasonOf(() => checkAkPublic(ak))).toBe('ak-attributes');
  });

  it('accepts an AK only if it has every required property (random attribute sets, nameAlgs and schemes)', () => {
    const attributeNames = ['fixedTPM', 'stClear', 'fixedParent', 'sensitiveDataOrigin', 'userWithAuth', 'adminWithPolicy', 'noDA', 'restricted', 'decrypt', 'sign'] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(AK_TEMPLATE_RSA, AK_TEMPLATE_ECC),
        // Biased towards a valid AK so that both outcomes are explored.
        fc.record(
          Object.fromEntries(
            attributeNames.map((n) => [n, (AK_REQUIRED as readonly string[]).includes(n) ? fc.constantFrom(true, true, true, false) : n === 'decrypt' ? fc.constantFrom(false, false, false, true) : fc.boolean()]),
          ) as Record<(typeof attributeNames)[number], fc.Arbitrary<boolean>>,
        ),
        fc.constantFrom(TPM_ALG.SHA1, TPM_ALG.SHA256, TPM_ALG.SHA384),
        fc.constantFrom(TPM_ALG.RSASSA, TPM_ALG.RSAPSS, TPM_ALG.ECDSA, TPM_ALG.NULL),
        fc.constantFrom(TPM_ALG.SHA1, TPM_ALG.SHA256, TPM_ALG.SHA512),
        (template, attributes, nameAlg, scheme, hashAlg) => {
          const base = withKey(template);
          const ak: TpmtPublic = {
            ...base,
            nameAlg,
            objectAttributes: attributes,
            parameters: { ...(base.parameters as object), scheme: { scheme, details: scheme === TPM_ALG.NULL ? null : { hashAlg } } } as TpmtPublic['parameters'],
          };
          const reason = reasonOf(() => checkAkPublic(ak));
          if (reason === undefined) {
            for (const a of AK_REQUIRED) expect(attributes[a]).toBe(true);
            expect(attributes.decrypt).toBe(false);
            expect(nameAlg).toBe(TPM_ALG.SHA256);
            expect(hashAlg).not.toBe(TPM_ALG.SHA1);
            expect(template === AK_TEMPLATE_RSA ? [TPM_ALG.RSASSA, TPM_ALG.RSAPSS] : [TPM_ALG.ECDSA]).toContain(scheme);
          } else {
            expect(reason).toBe('ak-attributes');
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('checkEkPublic', () => {
  it('accepts the RSA 2048, ECC P-256 and ECC P-384 EK templates', () => {
    for (const template of [EK_TEMPLATE_RSA_2048, EK_TEMPLATE_ECC_P256, EK_TEMPLATE_ECC_P384]) {
      expect(reasonOf(() => checkEkPublic(withKey(template)))).toBeUndefined();
    }
  });

  it.each(['restricted', 'decrypt', 'fixedTPM', 'fixedParent', 'sensitiveDataOrigin'] as const)('refuses an EK without %s', (attribute) => {
    const ek = withKey({ ...EK_TEMPLATE_RSA_2048, objectAttributes: { ...EK_TEMPLATE_RSA_2048.objectAttributes, [attribute]: false } });
    expect(reasonOf(() => checkEkPublic(ek))).toBe('ek-invalid');
  });

  it('refuses a signing EK, a SHA-1 nameAlg, RSA-1024 and an AK presented as the EK', () => {
    const rsa = withKey(EK_TEMPLATE_RSA_2048);
    const cases: TpmtPublic[] = [
      { ...rsa, objectAttributes: { ...rsa.objectAttributes, sign: true } },
      { ...rsa, nameAlg: TPM_ALG.SHA1 },
      { ...rsa, parameters: { ...(rsa.parameters as object), keyBits: 1024 } as TpmtPublic['parameters'], unique: new Uint8Array(128) },
      withKey(AK_TEMPLATE_RSA),
    ];
    for (const ek of cases) expect(reasonOf(() => checkEkPublic(ek))).toBe('ek-invalid');
  });
});
