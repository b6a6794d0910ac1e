import { unmarshal } from '../codec/codec.js';
import { TpmUnmarshalError } from '../codec/errors.js';
import { TPM_GENERATED_VALUE, TPM_ST } from '../constants/st.js';
import { TPMS_ATTEST, type TpmsAttest, type TpmsAttestQuote } from '../structures/attest.js';

/** Why bytes are not an attestation structure the TPM made. */
export type AttestFailureReason = 'malformed' | 'bad-magic' | 'not-a-quote';

export class TpmAttestError extends Error {
  constructor(
    readonly reason: AttestFailureReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TpmAttestError';
  }
}

const HEADER = 6; // magic (UINT32) + type (TPMI_ST_ATTEST, UINT16)

const stNames = new Map<number, string>(Object.entries(TPM_ST).map(([k, v]) => [v, `TPM_ST_${k}`]));
function stName(st: number): string {
  return stNames.get(st) ?? `0x${st.toString(16).padStart(4, '0')}`;
}

/**
 * Decodes a TPMS_ATTEST (Part 2 §10.12.12) as signed by TPM2_Quote,
 * TPM2_Certify and friends, checking first what makes it a TPM's own
 * statement: `magic` must be TPM_GENERATED_VALUE (Part 2 §6.2): a restricted
 * signing key never signs external data that starts with it, so only the TPM
 * can have produced a signed structure that does. The header is
 * checked before the body so one flipped byte in it gets its own reason
 * rather than a generic decoding error. Throws TpmAttestError.
 */
export function parseAttest(bytes: Uint8Array): TpmsAttest {
  if (bytes.length < HEADER) throw new TpmAttestError('malformed', `TPMS_ATTEST of ${bytes.length} bytes is shorter than its 6-byte header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic !== TPM_GENERATED_VALUE) {
    throw new TpmAttestError('bad-magic', `magic is 0x${magic.toString(16).padStart(8, '0')}, not TPM_GENERATED_VALUE (0xff544347): not produced by a TPM`);
  }
  try {
    return unmarshal(TPMS_ATTEST, bytes);
  } catch (e) {
    if (e instanceof TpmUnmarshalError) throw new TpmAttestError('malformed', `TPMS_ATTEST: ${e.message}`, { cause: e });
    throw e;
  }
}

/** `parseAttest`, and the attestation must be a quote (type TPM_ST_ATTEST_QUOTE, Part 3 §18.4). */
export function parseQuoteAttest(bytes: Uint8Array): TpmsAttestQuote {
  if (bytes.length >= HEADER) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const type = view.getUint16(4);
    if (view.getUint32(0) === TPM_GENERATED_VALUE && type !== TPM_ST.ATTEST_QUOTE) {
      throw new TpmAttestError('not-a-quote', `attestation type is ${stName(type)}, not TPM_ST_ATTEST_QUOTE`);
    }
  }
  return parseAttest(bytes) as TpmsAttestQuote;
}

/** True when a decoded attestation is a quote. */
export function isQuote(a: TpmsAttest): a is TpmsAttestQuote {
  return a.type === TPM_ST.ATTEST_QUOTE;
}
