import { createHash } from 'node:crypto';
import {
  type CommandRunner,
  hashAlgorithm,
  keyHandle,
  type LoadedKey,
  marshal,
  type PcrSelection,
  type PcrValues,
  Quote,
  readPcrs,
  TPM_ALG,
  TPMS_ATTEST,
  TPMT_SIGNATURE,
  type TpmsAttest,
  toTpmlPcrSelection,
  unmarshal,
  valuesInSelectionOrder,
} from '@vigil/tpm2-ts';

/** A quote with the PCR values it covers. */
export interface QuoteEvidence {
  /** TPMS_ATTEST bytes exactly as the TPM signed them (tpm2-tools' quote.msg). */
  readonly message: Uint8Array;
  readonly attest: TpmsAttest;
  /** TPMT_SIGNATURE bytes (tpm2-tools' quote.sig). */
  readonly signature: Uint8Array;
  readonly selection: readonly PcrSelection[];
  readonly pcrValues: PcrValues;
}

// PCRs may change between the quote and the read that reports their values;
// then both are taken again.
const MAX_ATTEMPTS = 5;

/** The quoted pcrDigest: H_alg of the selected values in selection order (Part 3 §18.4). */
function pcrDigest(hashAlg: number, selection: readonly PcrSelection[], values: PcrValues): Uint8Array {
  const h = hashAlgorithm(hashAlg);
  if (!h) throw new Error(`0x${hashAlg.toString(16)} is not a hash algorithm`);
  const c = createHash(h.nodeName);
  for (const v of valuesInSelectionOrder(selection, values)) c.update(v);
  return new Uint8Array(c.digest());
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Quotes `selection` with `ak` over `nonce` and reads the PCR values that
 * go with it. The values are checked against the quote's pcrDigest, so what
 * is reported is what was signed; if a PCR moved in between, it tries again.
 */
export async function quotePcrs(tpm: CommandRunner, ak: LoadedKey, nonce: Uint8Array, selection: readonly PcrSelection[]): Promise<QuoteEvidence> {
  const scheme = ak.public.parameters as { scheme: { details: { hashAlg: number } | null } };
  const digestAlg = scheme.scheme.details?.hashAlg ?? TPM_ALG.SHA256;
  for (let attempt = 1; ; attempt++) {
    const q = await tpm.execute(Quote, {
      signHandle: keyHandle(ak),
      qualifyingData: nonce,
      inScheme: { scheme: TPM_ALG.NULL, details: null },
      PCRselect: toTpmlPcrSelection(selection),
    });
    const { values } = await readPcrs(tpm, selection);
    const attest = unmarshal(TPMS_ATTEST, q.quoted);
    const quoted = (attest.attested as { pcrDigest: Uint8Array }).pcrDigest;
    if (sameBytes(quoted, pcrDigest(digestAlg, selection, values))) {
      return { message: q.quoted, attest, signature: marshal(TPMT_SIGNATURE, q.signature), selection, pcrValues: values };
    }
    if (attempt >= MAX_ATTEMPTS) throw new Error(`PCRs kept changing between quote and read (${MAX_ATTEMPTS} attempts)`);
  }
}
