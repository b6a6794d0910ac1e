/**
 * IMA template data, exactly as the kernel hashes it
 * (security/integrity/ima/ima_crypto.c, ima_calc_field_array_hash_tfm):
 * - for every template but `ima`: each field as a UINT32 length (little-endian
 *   on the platforms we support) followed by its data;
 * - for `ima`: the 20-byte digest, then the file name and its NUL padded with
 *   zeros to IMA_EVENT_NAME_LEN_MAX + 1 = 256 bytes, with no lengths.
 * Field formats (ima_template_lib.c): d-ng is `<algo>` `:` NUL digest; n-ng is
 * the file name and its NUL; sig and buf are raw bytes.
 */
import { ByteReader } from '../binary/byte-reader.js';
import { ByteWriter } from '../binary/byte-writer.js';
import { bytes, list, prefixed, u32 } from '../binary/codec.js';
import { DecodeError } from '../binary/errors.js';
import type { ImaTemplate } from './entry.js';

/** IMA_EVENT_NAME_LEN_MAX + 1. */
const IMA_NAME_FIELD = 256;

/** One template field: UINT32 length, data. */
const TemplateField = prefixed(u32, bytes);
const TemplateFields = list(TemplateField);

export function joinFields(fields: readonly Uint8Array[]): Uint8Array {
  const w = new ByteWriter(fields.reduce((n, f) => n + 4 + f.length, 0));
  TemplateFields.write(w, [...fields]);
  return w.finish();
}

export function splitFields(data: Uint8Array): Uint8Array[] {
  const r = new ByteReader(data);
  const out: Uint8Array[] = [];
  while (r.remaining > 0) out.push(TemplateField.read(r));
  return out;
}

/** d-ng: `<algo>:` NUL digest. */
export function digestNgField(algorithm: string, digest: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(`${algorithm}:\0`, 'latin1'), digest]);
}

/** n-ng: the name bytes and a NUL. */
export function nameNgField(name: Uint8Array): Uint8Array {
  return Buffer.concat([name, new Uint8Array(1)]);
}

/** The hashed form of an `ima` template entry. */
export function imaTemplateData(digest: Uint8Array, name: Uint8Array): Uint8Array {
  const n = nameNgField(name);
  return Buffer.concat([digest, n, new Uint8Array(Math.max(0, IMA_NAME_FIELD - n.length))]);
}

function parseDigestNg(field: Uint8Array): { algorithm: string; digest: Uint8Array } {
  const colon = field.indexOf(0x3a);
  if (colon < 0 || field[colon + 1] !== 0) {
    // A d-ng field without an algorithm prefix holds a SHA-1/MD5 digest (ima_eventdigest_init_common).
    return { algorithm: field.length === 16 ? 'md5' : 'sha1', digest: field };
  }
  return { algorithm: Buffer.from(field.subarray(0, colon)).toString('latin1'), digest: field.subarray(colon + 2) };
}

function parseNameNg(field: Uint8Array): string {
  const end = field.length > 0 && field[field.length - 1] === 0 ? field.length - 1 : field.length;
  return Buffer.from(field.subarray(0, end)).toString('utf8');
}

/** Decodes template data (as defined above) for the known templates. */
export function decodeTemplateData(templateName: string, data: Uint8Array): ImaTemplate {
  if (templateName === 'ima') {
    if (data.length < 20) throw new DecodeError(0, 'ima template data shorter than its digest');
    const name = data.subarray(20);
    const nul = name.indexOf(0);
    return { kind: 'ima', digest: data.subarray(0, 20), path: Buffer.from(nul < 0 ? name : name.subarray(0, nul)).toString('utf8') };
  }
  const fields = ['ima-ng', 'ima-sig', 'ima-buf'].includes(templateName) ? splitFields(data) : undefined;
  if (!fields) return { kind: 'unknown' };
  const expected = templateName === 'ima-ng' ? 2 : 3;
  // ima-sig with no signature may end after n-ng in old kernels: treat as empty.
  if (fields.length !== expected && !(templateName === 'ima-sig' && fields.length === 2)) {
    throw new DecodeError(0, `${templateName} template data has ${fields.length} fields, not ${expected}`);
  }
  const { algorithm, digest } = parseDigestNg(fields[0]!);
  const path = parseNameNg(fields[1]!);
  if (templateName === 'ima-ng') return { kind: 'ima-ng', algorithm, digest, path };
  const extra = fields[2] ?? new Uint8Array(0);
  if (templateName === 'ima-sig') return { kind: 'ima-sig', algorithm, digest, path, signature: extra };
  return { kind: 'ima-buf', algorithm, digest, path, buffer: extra };
}
