/**
 * Raised when bytes cannot be unmarshalled into a TPM 2.0 structure: input
 * ends early, a size field exceeds its structure's maximum, a selector names no
 * union member, or trailing bytes remain. It is the only error the codec
 * throws on bad input, so callers can treat every malformed TPM structure
 * (from a TPM or from the network) the same way.
 */
export class TpmUnmarshalError extends Error {
  constructor(
    /** What was being decoded, outermost first, e.g. `TPMS_ATTEST.attested.TPMS_QUOTE_INFO.pcrDigest`. */
    readonly path: string,
    /** Byte offset in the input where decoding failed. */
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`cannot unmarshal ${path} at byte ${offset}: ${reason}`);
    this.name = 'TpmUnmarshalError';
  }
}

/** Raised when a value cannot be marshalled: out of range, wrong length, unknown selector. */
export class TpmMarshalError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`cannot marshal ${path}: ${reason}`);
    this.name = 'TpmMarshalError';
  }
}
