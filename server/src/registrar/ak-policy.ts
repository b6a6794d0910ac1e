import { algName, isEccPublic, isRsaPublic, TPM_ALG, TPM_ECC, type TpmtPublic } from '@vigil/tpm2-ts';
import { refuse } from './refusal.js';

/** Signature schemes the verifier checks quotes with (`verifyTpmSignature`), by key type. */
const RSA_SCHEMES = new Set<number>([TPM_ALG.RSASSA, TPM_ALG.RSAPSS]);
const ECC_SCHEMES = new Set<number>([TPM_ALG.ECDSA]);
const SCHEME_HASHES = new Set<number>([TPM_ALG.SHA256, TPM_ALG.SHA384, TPM_ALG.SHA512]);
const ECC_CURVES = new Map<number, string>([
  [TPM_ECC.NIST_P256, 'NIST P-256'],
  [TPM_ECC.NIST_P384, 'NIST P-384'],
]);
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 4096;

/**
 * Refuses (`ak-attributes`) an attestation key whose public area does not
 * make its quotes evidence:
 *
 * - restricted + sign, not decrypt: a restricted signing key signs only
 *   digests the TPM produced itself (TPMS_ATTEST) or ticketed as not starting
 *   with TPM_GENERATED_VALUE (Part 1 §25.2.3), so it cannot sign a forged quote;
 * - fixedTPM + fixedParent: it cannot be duplicated out of this TPM (Part 1 §25.3);
 * - sensitiveDataOrigin: the TPM generated its private key, nobody imported it;
 * - nameAlg SHA-256: the Name MakeCredential binds to and the store records;
 * - RSA 2048-4096 or ECC NIST P-256/P-384, with a fixed signing scheme the
 *   verifier checks (RSASSA/RSAPSS or ECDSA, with SHA-256/384/512): a
 *   restricted key signs only with its own scheme (Part 1 §25.1.3), so a
 *   fixed scheme makes every quote checkable.
 *
 * That the AK really lives in the TPM of the EK is not shown here: that is
 * what MakeCredential/ActivateCredential proves.
 */
export function checkAkPublic(ak: TpmtPublic): void {
  const a = ak.objectAttributes;
  const missing = (
    [
      ['restricted', a.restricted],
      ['sign', a.sign],
      ['fixedTPM', a.fixedTPM],
      ['fixedParent', a.fixedParent],
      ['sensitiveDataOrigin', a.sensitiveDataOrigin],
    ] as const
  )
    .filter(([, set]) => !set)
    .map(([name]) => name);
  if (missing.length > 0) refuse('ak-attributes', `the AK lacks ${missing.join(', ')}: it must be a restricted signing key fixed to its TPM`);
  if (a.decrypt) refuse('ak-attributes', 'the AK is also a decryption key: an attestation key must only sign');
  if (ak.nameAlg !== TPM_ALG.SHA256) refuse('ak-attributes', `the AK nameAlg is ${algName(ak.nameAlg)}; TPM_ALG_SHA256 is required`);

  if (isRsaPublic(ak)) {
    const bits = ak.parameters.keyBits;
    if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) refuse('ak-attributes', `RSA AK of ${bits} bits; ${MIN_RSA_BITS} to ${MAX_RSA_BITS} are accepted`);
    if (ak.unique.length * 8 !== bits) refuse('ak-attributes', `the AK modulus is ${ak.unique.length * 8} bits but keyBits says ${bits}`);
    checkScheme(ak.parameters.scheme, RSA_SCHEMES, 'RSA');
    return;
  }
  if (isEccPublic(ak)) {
    if (!ECC_CURVES.has(ak.parameters.curveID)) {
      refuse('ak-attributes', `ECC AK on curve 0x${ak.parameters.curveID.toString(16)}; NIST P-256 or P-384 is required`);
    }
    checkScheme(ak.parameters.scheme, ECC_SCHEMES, 'ECC');
    return;
  }
  refuse('ak-attributes', `the AK is of type ${algName(ak.type)}; an RSA or ECC key is required`);
}

function checkScheme(scheme: { scheme: number; details: unknown }, allowed: ReadonlySet<number>, type: string): void {
  if (!allowed.has(scheme.scheme)) {
    refuse(
      'ak-attributes',
      `the ${type} AK's scheme is ${algName(scheme.scheme)}; one of ${[...allowed].map(algName).join(', ')} with SHA-256/384/512 is required (a fixed scheme the verifier checks)`,
    );
  }
  const hashAlg = (scheme.details as { hashAlg?: number } | null)?.hashAlg;
  if (hashAlg === undefined || !SCHEME_HASHES.has(hashAlg)) {
    refuse('ak-attributes', `the AK signs with hash ${hashAlg === undefined ? 'none' : algName(hashAlg)}; SHA-256, SHA-384 or SHA-512 is required`);
  }
}
