import { createHash } from 'node:crypto';
import { marshal } from '../codec/codec.js';
import { hashAlgorithm } from '../constants/alg.js';
import { TPM_CC } from '../constants/cc.js';
import { TPML_PCR_SELECTION, type TpmlPcrSelection } from '../structures/basic.js';

/**
 * Policy digests computed in software (Part 1 §19.7, Part 3 §23): what a
 * trial session would return, so an object's authPolicy can be written down
 * without a TPM. Each step is policyDigest_new = H(policyDigest_old || TPM_CC || ...).
 *
 *   const p = new PolicyDigest(TPM_ALG.SHA256).policySecret(endorsementName).digest
 */
export class PolicyDigest {
  private value: Uint8Array;
  private readonly nodeName: string;

  constructor(
    readonly hashAlg: number,
    initial?: Uint8Array,
  ) {
    const h = hashAlgorithm(hashAlg);
    if (!h) throw new Error(`policy hash 0x${hashAlg.toString(16)} is not a hash algorithm`);
    this.nodeName = h.nodeName;
    // A policy session starts with a digest of all zeros (Part 1 §19.7.2).
    this.value = initial ?? new Uint8Array(h.size);
  }

  get digest(): Uint8Array {
    return this.value;
  }

  private extend(...parts: Uint8Array[]): this {
    const h = createHash(this.nodeName).update(this.value);
    for (const p of parts) h.update(p);
    this.value = new Uint8Array(h.digest());
    return this;
  }

  /** PolicyUpdate (Part 3 §23.2.3): H(H(old || cc || arg2) || arg3). */
  private update(cc: number, arg2: Uint8Array, arg3: Uint8Array): this {
    return this.extend(u32(cc), arg2).extend(arg3);
  }

  /** TPM2_PolicySecret (Part 3 §23.4): PolicyUpdate(TPM_CC_PolicySecret, authObject Name, policyRef). */
  policySecret(authName: Uint8Array, policyRef: Uint8Array = new Uint8Array(0)): this {
    return this.update(TPM_CC.PolicySecret, authName, policyRef);
  }

  /** TPM2_PolicySigned (Part 3 §23.3): PolicyUpdate(TPM_CC_PolicySigned, authObject Name, policyRef). */
  policySigned(keyName: Uint8Array, policyRef: Uint8Array = new Uint8Array(0)): this {
    return this.update(TPM_CC.PolicySigned, keyName, policyRef);
  }

  /**
   * TPM2_PolicyPCR (Part 3 §23.7): H(old || TPM_CC_PolicyPCR || pcrs || pcrDigest),
   * pcrDigest being the policy hash of the selected PCR values concatenated
   * in selection order (see `pcrValuesDigest`).
   */
  policyPcr(pcrs: TpmlPcrSelection, pcrDigest: Uint8Array): this {
    return this.extend(u32(TPM_CC.PolicyPCR), marshal(TPML_PCR_SELECTION, pcrs), pcrDigest);
  }

  /** TPM2_PolicyAuthValue (Part 3 §23.17). */
  policyAuthValue(): this {
    return this.extend(u32(TPM_CC.PolicyAuthValue));
  }

  /** TPM2_PolicyPassword (Part 3 §23.18): the same digest as PolicyAuthValue. */
  policyPassword(): this {
    return this.extend(u32(TPM_CC.PolicyAuthValue));
  }

  /** TPM2_PolicyCommandCode (Part 3 §23.11). */
  policyCommandCode(code: number): this {
    return this.extend(u32(TPM_CC.PolicyCommandCode), u32(code));
  }

  /** TPM2_PolicyOR (Part 3 §23.6): resets to zeros, then H(0 || TPM_CC_PolicyOR || digests...). */
  policyOr(branches: readonly Uint8Array[]): this {
    if (branches.length < 2 || branches.length > 8) throw new Error('PolicyOR takes 2 to 8 branches');
    this.value = new Uint8Array(this.value.length);
    return this.extend(u32(TPM_CC.PolicyOR), ...branches);
  }
}

/** H(PCR values concatenated): the pcrDigest of PolicyPCR and of TPMS_QUOTE_INFO, in the order the selection lists them. */
export function pcrValuesDigest(hashAlg: number, values: readonly Uint8Array[]): Uint8Array {
  const h = hashAlgorithm(hashAlg);
  if (!h) throw new Error(`hash 0x${hashAlg.toString(16)} is not a hash algorithm`);
  const c = createHash(h.nodeName);
  for (const v of values) c.update(v);
  return new Uint8Array(c.digest());
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  return b;
}
