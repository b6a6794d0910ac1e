import { hashAlgorithm } from '../constants/alg.js';
import { PcrSelectionError, type PcrSelection, type PcrValues } from '../pcrs/selection.js';
import { decodeTpm2ToolsPcrFile, PcrFileError } from '../pcrs/tpm2-tools-file.js';
import { pcrValuesFromJson } from './pcr-values.js';

/** How a PCR file was written. */
export type PcrFileFormat =
  /** `{ "sha256": { "0": "hex", ... } }` */
  | 'json'
  /** tpm2-tools' default `serialized` format (`tpm2_quote -o`, `tpm2_pcrread -o`). */
  | 'tpm2-tools-serialized'
  /** tpm2-tools' `-F values`: the selected digests concatenated, nothing else. */
  | 'tpm2-tools-values';

// Fixed sizes of tpm2-tools' serialized layout (see pcrs/tpm2-tools-file.ts):
// a 132-byte TPML_PCR_SELECTION, a u32 list count, 532 bytes per TPML_DIGEST.
const SERIALIZED_HEAD = 132 + 4;
const SERIALIZED_LIST = 532;

function serializedSize(bytes: Uint8Array): number | undefined {
  if (bytes.length < SERIALIZED_HEAD) return undefined;
  const lists = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(132, true);
  return lists <= 64 ? SERIALIZED_HEAD + lists * SERIALIZED_LIST : undefined;
}

/** Splits a raw concatenation of digests by `selection` (banks in order, indices ascending). */
function splitValues(bytes: Uint8Array, selection: readonly PcrSelection[]): PcrValues | undefined {
  const out = new Map<number, Map<number, Uint8Array>>();
  let at = 0;
  for (const s of selection) {
    const h = hashAlgorithm(s.hashAlg);
    if (!h) return undefined;
    const bank = out.get(s.hashAlg) ?? new Map<number, Uint8Array>();
    out.set(s.hashAlg, bank);
    for (const p of [...s.pcrs].sort((a, b) => a - b)) {
      if (at + h.size > bytes.length) return undefined;
      bank.set(p, bytes.slice(at, at + h.size));
      at += h.size;
    }
  }
  return at === bytes.length ? out : undefined;
}

/**
 * Reads PCR values for a quote from a file in any of the formats above,
 * recognised by content: JSON starts with `{`; the serialized format has an
 * exact size fixed by its list count; the bare values format carries no
 * selection, so it is split by `quoteSelection` (the quote's own
 * TPML_PCR_SELECTION, banks in order, indices ascending) and must match its
 * length exactly. Throws PcrFileError.
 */
export function readPcrFile(bytes: Uint8Array, quoteSelection?: readonly PcrSelection[]): { format: PcrFileFormat; values: PcrValues } {
  const text = Buffer.from(bytes.subarray(0, 16)).toString('latin1').trimStart();
  if (text.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (e) {
      throw new PcrFileError(`JSON PCR values could not be parsed: ${(e as Error).message}`);
    }
    try {
      return { format: 'json', values: pcrValuesFromJson(json) };
    } catch (e) {
      if (e instanceof PcrSelectionError) throw new PcrFileError(e.message);
      throw e;
    }
  }
  let serializedError: string | undefined;
  if (serializedSize(bytes) === bytes.length) {
    try {
      return { format: 'tpm2-tools-serialized', values: decodeTpm2ToolsPcrFile(bytes).values };
    } catch (e) {
      if (!(e instanceof PcrFileError)) throw e;
      serializedError = e.message;
    }
  }
  if (quoteSelection) {
    const values = splitValues(bytes, quoteSelection);
    if (values) return { format: 'tpm2-tools-values', values };
  }
  throw new PcrFileError(
    serializedError ??
      `${bytes.length} bytes are neither JSON, the serialized format, nor ${quoteSelection ? "the quote's selected values concatenated" : 'bare values (which need the quote to split them)'}`,
  );
}
