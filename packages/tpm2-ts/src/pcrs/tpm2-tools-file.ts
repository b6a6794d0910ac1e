import { hashAlgorithm } from '../constants/alg.js';
import { fromTpmlPcrSelection, type PcrSelection, type PcrValues, valuesInSelectionOrder } from './selection.js';

/**
 * The PCR file of tpm2-tools (`tpm2_quote -o`, `tpm2_pcrread -o`, read by
 * `tpm2_checkquote -f`): its "serialized" format is the in-memory layout of
 * tpm2-tools' C structures written little-endian:
 *
 *   TPML_PCR_SELECTION  count:u32le, then 16 x { hash:u16le, sizeofSelect:u8, pcrSelect[4], 1 pad byte }   132 bytes
 *   UINT32              n: how many TPML_DIGEST follow, u32le                                               4 bytes
 *   n x TPML_DIGEST     count:u32le, then 8 x { size:u16le, buffer[64] }                                   532 bytes each
 *
 * Digests fill the TPML_DIGESTs in selection order (banks as listed, PCR
 * indices ascending), 8 per TPML_DIGEST as PCR_Read returns them. This is
 * not TPM wire format (which is big-endian and unpadded), which is why it has
 * its own encoder rather than a codec.
 */
const NUM_PCR_BANKS = 16;
const PCR_SELECT_MAX = 4;
const SELECTION_SIZE = 8; // u16 + u8 + 4 bytes, padded to the u16 alignment
const TPML_PCR_SELECTION_SIZE = 4 + NUM_PCR_BANKS * SELECTION_SIZE;
const DIGESTS_PER_LIST = 8;
const TPM2B_DIGEST_SIZE = 2 + 64;
const TPML_DIGEST_SIZE = 4 + DIGESTS_PER_LIST * TPM2B_DIGEST_SIZE;
// Bounds the list count read from a file: 16 banks x 24 PCRs / 8 per list = 48 lists at most in practice.
const MAX_DIGEST_LISTS = 64;

export class PcrFileError extends Error {
  constructor(message: string) {
    super(`tpm2-tools PCR file: ${message}`);
    this.name = 'PcrFileError';
  }
}

/** Writes the selection and values as tpm2-tools' serialized PCR file. */
export function encodeTpm2ToolsPcrFile(selection: readonly PcrSelection[], values: PcrValues): Uint8Array {
  if (selection.length > NUM_PCR_BANKS) throw new PcrFileError(`${selection.length} banks exceed ${NUM_PCR_BANKS}`);
  const digests = valuesInSelectionOrder(selection, values);
  const lists = Math.ceil(digests.length / DIGESTS_PER_LIST);
  const out = Buffer.alloc(TPML_PCR_SELECTION_SIZE + 4 + lists * TPML_DIGEST_SIZE);
  out.writeUInt32LE(selection.length, 0);
  selection.forEach((s, i) => {
    const at = 4 + i * SELECTION_SIZE;
    out.writeUInt16LE(s.hashAlg, at);
    out.writeUInt8(3, at + 2);
    for (const p of s.pcrs) {
      if (p >= 24) throw new PcrFileError(`PCR ${p} does not fit tpm2-tools' 3-byte selection`);
      out[at + 3 + (p >> 3)]! |= 1 << (p & 7);
    }
  });
  out.writeUInt32LE(lists, TPML_PCR_SELECTION_SIZE);
  for (let l = 0; l < lists; l++) {
    const base = TPML_PCR_SELECTION_SIZE + 4 + l * TPML_DIGEST_SIZE;
    const chunk = digests.slice(l * DIGESTS_PER_LIST, (l + 1) * DIGESTS_PER_LIST);
    out.writeUInt32LE(chunk.length, base);
    chunk.forEach((d, k) => {
      const at = base + 4 + k * TPM2B_DIGEST_SIZE;
      out.writeUInt16LE(d.length, at);
      out.set(d, at + 2);
    });
  }
  return new Uint8Array(out);
}

/** Reads tpm2-tools' serialized PCR file back into a selection and values; every count and size is checked. */
export function decodeTpm2ToolsPcrFile(bytes: Uint8Array): { selection: PcrSelection[]; values: PcrValues } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < TPML_PCR_SELECTION_SIZE + 4) throw new PcrFileError(`${b.length} bytes is too short`);
  const banks = b.readUInt32LE(0);
  if (banks > NUM_PCR_BANKS) throw new PcrFileError(`${banks} banks exceed ${NUM_PCR_BANKS}`);
  const tpml = [];
  for (let i = 0; i < banks; i++) {
    const at = 4 + i * SELECTION_SIZE;
    const size = b.readUInt8(at + 2);
    if (size > PCR_SELECT_MAX) throw new PcrFileError(`sizeofSelect ${size} exceeds ${PCR_SELECT_MAX}`);
    tpml.push({ hash: b.readUInt16LE(at), pcrSelect: new Uint8Array(b.subarray(at + 3, at + 3 + size)) });
  }
  const selection = fromTpmlPcrSelection(tpml);
  const lists = b.readUInt32LE(TPML_PCR_SELECTION_SIZE);
  if (lists > MAX_DIGEST_LISTS) throw new PcrFileError(`${lists} digest lists exceed ${MAX_DIGEST_LISTS}`);
  if (b.length < TPML_PCR_SELECTION_SIZE + 4 + lists * TPML_DIGEST_SIZE) throw new PcrFileError(`${b.length} bytes cannot hold ${lists} digest lists`);
  const digests: Uint8Array[] = [];
  for (let l = 0; l < lists; l++) {
    const base = TPML_PCR_SELECTION_SIZE + 4 + l * TPML_DIGEST_SIZE;
    const count = b.readUInt32LE(base);
    if (count > DIGESTS_PER_LIST) throw new PcrFileError(`digest list ${l} has count ${count}`);
    for (let k = 0; k < count; k++) {
      const at = base + 4 + k * TPM2B_DIGEST_SIZE;
      const size = b.readUInt16LE(at);
      if (size > 64) throw new PcrFileError(`digest size ${size} exceeds 64`);
      digests.push(new Uint8Array(b.subarray(at + 2, at + 2 + size)));
    }
  }
  const values = new Map<number, Map<number, Uint8Array>>();
  let next = 0;
  for (const s of selection) {
    const hash = hashAlgorithm(s.hashAlg);
    const bank = values.get(s.hashAlg) ?? new Map<number, Uint8Array>();
    values.set(s.hashAlg, bank);
    for (const p of s.pcrs) {
      const d = digests[next++];
      if (!d) throw new PcrFileError(`fewer digests than selected PCRs (${next - 1})`);
      if (hash && d.length !== hash.size) throw new PcrFileError(`${hash.name} PCR ${p} digest is ${d.length} bytes`);
      bank.set(p, d);
    }
  }
  if (next !== digests.length) throw new PcrFileError(`${digests.length} digests for ${next} selected PCRs`);
  return { selection, values };
}
