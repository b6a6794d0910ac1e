import { algName, isEccPublic, isRsaPublic, TPM_ALG, TPM_ECC, type TpmtPublic } from '@vigil/tpm2-ts';
import { refuse } from './refusal.js';

const EK_NAME_ALGS = new Set<number>([TPM_ALG.SHA256, TPM_ALG.SHA384]);
const EK_CURVES = new Set<number>([TPM_ECC.NIST_P256, TPM_ECC.NIST_P384]);

/**
 * Refuses (`ek-invalid`) an endorsement key public area that is not a TCG
 * EK: a restricted decryption (storage-type) key, fixed to its TPM, whose
 * private part the TPM generated (TCG EK Credential Profile 2.0 §2.1.5 and
 * Annex B templates: attributes 0x000300b2 or with userWithAuth for the high
 * range), RSA 2048+ or ECC NIST P-256/P-384, nameAlg SHA-256 or SHA-384.
 *
 * MakeCredential needs a restricted decryption key (Part 3 §12.6): its
 * symmetric definition and nameAlg decide how the credential is protected,
 * and a real TPM's ActivateCredential fails for any public area other than
 * its EK's own, so a doctored public area gains nothing; these checks give a
 * clear reason early instead of a proof that never comes.
 */
export function checkEkPublic(ek: TpmtPublic): void {
  const a = ek.objectAttributes;
  if (!a.restricted || !a.decrypt || a.sign) refuse('ek-invalid', 'the EK must be a restricted decryption key (restricted, decrypt, not sign)');
  if (!a.fixedTPM || !a.fixedParent || !a.sensitiveDataOrigin) {
    refuse('ek-invalid', 'the EK must be fixedTPM, fixedParent and sensitiveDataOrigin (generated in and bound to its TPM)');
  }
  if (!EK_NAME_ALGS.has(ek.nameAlg)) refuse('ek-invalid', `the EK nameAlg is ${algName(ek.nameAlg)}; SHA-256 or SHA-384 is required`);
  if (isRsaPublic(ek)) {
    if (ek.parameters.keyBits < 2048 || ek.unique.length * 8 !== ek.parameters.keyBits) {
      refuse('ek-invalid', `an RSA EK must have a modulus of at least 2048 bits matching keyBits (got ${ek.unique.length * 8}, keyBits ${ek.parameters.keyBits})`);
    }
    return;
  }
  if (isEccPublic(ek)) {
    if (!EK_CURVES.has(ek.parameters.curveID)) refuse('ek-invalid', `ECC EK on curve 0x${ek.parameters.curveID.toString(16)}; NIST P-256 or P-384 is required`);
    return;
  }
  refuse('ek-invalid', `the EK is of type ${algName(ek.type)}; an RSA or ECC key is required`);
}
