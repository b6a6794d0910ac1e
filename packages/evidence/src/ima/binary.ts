/**
 * The binary measurement list (`binary_runtime_measurements`), as
 * ima_measurements_show writes it (ima_fs.c), native byte order (little-endian
 * on every platform Vigil supports):
 *
 *   UINT32 PCR | template hash (20 bytes, SHA-1) | UINT32 name length | name |
 *   [UINT32 template data length | template data]   (all templates but `ima`)
 *   [20-byte digest | UINT32 name length | name]    (`ima`)
 *
 * Unknown templates are kept by their declared data length.
 */
import { ByteReader } from '../binary/byte-reader.js';
import { ByteWriter } from '../binary/byte-writer.js';
import { bytes, fixedBytes, lengthOf, prefixed, sized, struct, u32 } from '../binary/codec.js';
import { DecodeError, nested } from '../binary/errors.js';
import type { ImaEntry } from './entry.js';
import { decodeTemplateData, imaTemplateData } from './template-data.js';

/** The kernel limits template names to a few characters; this bound only stops garbage early. */
const MAX_TEMPLATE_NAME = 255;

function entryHeader(hashSize: number) {
  return struct('ima_entry_header', {
    pcr: u32,
    templateHash: fixedBytes(hashSize),
    templateNameLength: lengthOf(u32),
    templateName: sized('templateNameLength', bytes),
  });
}

/** The body of an `ima` template entry (no overall length; IMA_SHOW_BINARY_OLD_STRING_FMT name). */
const ImaTemplateBody = struct('ima_template', {
  digest: fixedBytes(20),
  nameLength: lengthOf(u32),
  name: sized('nameLength', bytes),
});

const TemplateDataBody = prefixed(u32, bytes);

/** Parses one binary entry at the start of the reader; ShortReadError if cut short. */
export function readImaBinaryEntry(r: ByteReader, index: number, hashSize: number, maxTemplateDataSize: number): ImaEntry {
  const offset = r.offset;
  const h = entryHeader(hashSize).read(r);
  if (h.templateName.length === 0 || h.templateName.length > MAX_TEMPLATE_NAME) {
    throw new DecodeError(offset, `template name length ${h.templateName.length} is out of range`);
  }
  const templateName = Buffer.from(h.templateName).toString('latin1');
  let templateData: Uint8Array;
  if (templateName === 'ima') {
    const b = ImaTemplateBody.read(r);
    templateData = imaTemplateData(b.digest, b.name);
  } else {
    // TemplateDataBody, read in two steps so the limit is checked before the
    // stream is asked for that many bytes.
    const at = r.offset;
    const length = u32.read(r);
    if (length > maxTemplateDataSize) {
      throw new DecodeError(at, `template data of ${length} bytes exceeds the ${maxTemplateDataSize}-byte limit`);
    }
    templateData = r.bytes(length).slice();
  }
  return {
    index,
    offset,
    pcr: h.pcr,
    templateHash: h.templateHash.slice(),
    templateName,
    template: nested(() => decodeTemplateData(templateName, templateData)),
    templateData,
    violation: h.templateHash.every((b) => b === 0),
  };
}

/** Writes entries in the binary list format. */
export function serializeImaBinary(entries: Iterable<Pick<ImaEntry, 'pcr' | 'templateHash' | 'templateName' | 'templateData'>>): Uint8Array {
  const w = new ByteWriter(4096);
  for (const e of entries) {
    if (!e.templateData) throw new RangeError(`entry for template '${e.templateName}' has no template data`);
    entryHeader(e.templateHash.length).write(w, { pcr: e.pcr, templateHash: e.templateHash, templateName: Buffer.from(e.templateName, 'latin1') });
    if (e.templateName === 'ima') {
      const name = e.templateData.subarray(20);
      const nul = name.indexOf(0);
      ImaTemplateBody.write(w, { digest: e.templateData.subarray(0, 20), name: nul < 0 ? name : name.subarray(0, nul) });
    } else {
      TemplateDataBody.write(w, e.templateData);
    }
  }
  return w.finish();
}
