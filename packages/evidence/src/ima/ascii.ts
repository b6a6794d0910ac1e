/**
 * The ASCII measurement list (`ascii_runtime_measurements`), one entry per
 * line as ima_ascii_measurements_show prints it (ima_fs.c):
 *
 *   "%2d " PCR, template hash in hex, " " template name, then for every
 *   template field " " and the field: d-ng as `<algo>:<hex>`, names as text,
 *   sig/buf as hex (an empty field leaves just the space).
 *
 * Lines are read as bytes, so file names that are not UTF-8 rebuild the exact
 * template data the kernel hashed.
 */
import { toHex } from '../binary/bytes.js';
import { DecodeError, nested } from '../binary/errors.js';
import type { ImaEntry, ImaTemplate } from './entry.js';
import { decodeTemplateData, digestNgField, imaTemplateData, joinFields, nameNgField, splitFields } from './template-data.js';

const SP = 0x20;

function token(line: Uint8Array, start: number): [string, number] {
  const from = Math.min(start, line.length);
  let end = line.indexOf(SP, from);
  if (end < 0) end = line.length;
  return [Buffer.from(line.buffer, line.byteOffset, line.length).toString('latin1', from, end), end];
}

function hexBytes(s: string, what: string, at: number): Uint8Array {
  // Buffer's hex decoder stops at the first character that is not hex.
  const b = Buffer.from(s, 'hex');
  if (b.length * 2 !== s.length) throw new DecodeError(at, `${what} is not hex: '${s.slice(0, 80)}'`);
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/** `<algo>:<hex>` as printed for a d-ng field. */
function digestNg(s: string, at: number): { algorithm: string; digest: Uint8Array } {
  const colon = s.indexOf(':');
  if (colon <= 0) throw new DecodeError(at, `file digest '${s.slice(0, 80)}' has no '<algo>:' prefix`);
  return { algorithm: s.slice(0, colon), digest: hexBytes(s.slice(colon + 1), 'file digest', at) };
}

/**
 * Parses one line (without its newline). `offset` is the line's byte offset,
 * `hashSize` the size of the template hash column (20 for the SHA-1 list).
 */
export function parseImaAsciiLine(line: Uint8Array, index: number, offset: number, hashSize: number): ImaEntry {
  // Error positions never point past the line.
  const at = (p: number) => offset + Math.min(p, line.length);
  let p = 0;
  while (line[p] === SP) p++;
  const [pcrText, afterPcr] = token(line, p);
  if (!/^\d{1,10}$/.test(pcrText) || Number(pcrText) > 0xffff_ffff) throw new DecodeError(at(p), `PCR '${pcrText.slice(0, 20)}' is not a number`);
  const [hashText, afterHash] = token(line, afterPcr + 1);
  const templateHash = hexBytes(hashText, 'template hash', at(afterPcr + 1));
  if (templateHash.length !== hashSize) {
    throw new DecodeError(at(afterPcr + 1), `template hash is ${templateHash.length} bytes, expected ${hashSize}`);
  }
  const [templateName, afterName] = token(line, afterHash + 1);
  if (templateName === '') throw new DecodeError(at(afterHash + 1), 'missing template name');
  const rest = afterName < line.length ? line.subarray(afterName + 1) : new Uint8Array(0);
  const restAt = at(afterName + 1);

  let templateData: Uint8Array | null;
  let template: ImaTemplate;
  switch (templateName) {
    case 'ima': {
      const [digestText, afterDigest] = token(rest, 0);
      const name = rest.subarray(Math.min(rest.length, afterDigest + 1));
      templateData = imaTemplateData(hexBytes(digestText, 'file digest', restAt), name);
      template = nested(() => decodeTemplateData('ima', templateData!));
      break;
    }
    case 'ima-ng':
    case 'ima-sig':
    case 'ima-buf': {
      const [digestText, afterDigest] = token(rest, 0);
      const { algorithm, digest } = digestNg(digestText, restAt);
      const tail = rest.subarray(Math.min(rest.length, afterDigest + 1));
      const fields = [digestNgField(algorithm, digest)];
      if (templateName === 'ima-ng') {
        fields.push(nameNgField(tail));
      } else {
        // The last field is hex, so the last space separates it from the name.
        // A line stripped of the trailing space an empty field leaves is read
        // as having that empty field.
        const lastSpace = tail.lastIndexOf(SP);
        if (lastSpace < 0) {
          fields.push(nameNgField(tail), new Uint8Array(0));
        } else {
          const extraText = Buffer.from(tail.subarray(lastSpace + 1)).toString('latin1');
          const extraAt = Math.min(restAt + afterDigest + 1 + lastSpace + 1, offset + line.length);
          fields.push(nameNgField(tail.subarray(0, lastSpace)), hexBytes(extraText, 'template field', extraAt));
        }
      }
      templateData = joinFields(fields);
      template = nested(() => decodeTemplateData(templateName, templateData!));
      break;
    }
    default:
      templateData = null;
      template = { kind: 'unknown' };
  }
  return {
    index,
    offset,
    pcr: Number(pcrText),
    templateHash,
    templateName,
    template,
    templateData,
    violation: templateHash.every((b) => b === 0),
  };
}

/** Formats an entry as a line of the ASCII list (without the newline), from its template data. */
export function formatImaAsciiLine(entry: Pick<ImaEntry, 'pcr' | 'templateHash' | 'templateName' | 'templateData'>): Uint8Array {
  const head = `${String(entry.pcr).padStart(2)} ${toHex(entry.templateHash)} ${entry.templateName}`;
  const data = entry.templateData;
  if (!data) throw new RangeError(`cannot format a '${entry.templateName}' entry without its template data`);
  const parts: (string | Uint8Array)[] = [head];
  if (entry.templateName === 'ima') {
    const name = data.subarray(20);
    const nul = name.indexOf(0);
    parts.push(` ${toHex(data.subarray(0, 20))} `, nul < 0 ? name : name.subarray(0, nul));
  } else if (['ima-ng', 'ima-sig', 'ima-buf'].includes(entry.templateName)) {
    const fields = splitFields(data);
    const d = fields[0]!;
    const colon = d.indexOf(0x3a);
    parts.push(` ${Buffer.from(d.subarray(0, colon)).toString('latin1')}:${toHex(d.subarray(colon + 2))} `);
    const n = fields[1]!;
    parts.push(n.length > 0 && n[n.length - 1] === 0 ? n.subarray(0, n.length - 1) : n);
    if (fields.length > 2) parts.push(` ${toHex(fields[2]!)}`);
  } else {
    throw new RangeError(`cannot format template '${entry.templateName}' as ASCII`);
  }
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
}
