/**
 * IMA measurement lists: the template data is rebuilt byte for byte as the
 * kernel hashes it (the expected bytes are laid out by hand here, from
 * ima_template_lib.c and ima_crypto.c), and replay follows ima_queue.c.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatImaAsciiLine } from '../src/ima/ascii.js';
import { serializeImaBinary } from '../src/ima/binary.js';
import { ImaParseError } from '../src/ima/errors.js';
import { parseImaLog, readImaLog } from '../src/ima/read.js';
import { imaPcrsToJson, replayImaEntries, replayImaLog } from '../src/ima/replay.js';

const sha1 = (...b: Uint8Array[]) => createHash('sha1').update(Buffer.concat(b)).digest();
const sha256 = (...b: Uint8Array[]) => createHash('sha256').update(Buffer.concat(b)).digest();
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const field = (b: Buffer) => Buffer.concat([u32(b.length), b]);

const fileDigest = sha256(Buffer.from('the file'));
const ngData = Buffer.concat([
  field(Buffer.concat([Buffer.from('sha256:\0', 'latin1'), fileDigest])),
  field(Buffer.from('/usr/bin/bash\0', 'latin1')),
]);
const ngHash = sha1(ngData);
const ngLine = `10 ${ngHash.toString('hex')} ima-ng sha256:${fileDigest.toString('hex')} /usr/bin/bash`;

function parseError(bytes: Uint8Array, options = {}): ImaParseError {
  try {
    parseImaLog(bytes, options);
  } catch (err) {
    if (err instanceof ImaParseError) return err;
    throw err;
  }
  throw new Error('expected ImaParseError');
}

describe('IMA ASCII list', () => {
  it('rebuilds ima-ng template data exactly and replays both banks as the kernel', () => {
    const [e] = parseImaLog(Buffer.from(`${ngLine}\n`));
    expect(Buffer.from(e!.templateData!).equals(ngData)).toBe(true);
    expect(e!.template).toEqual({ kind: 'ima-ng', algorithm: 'sha256', digest: new Uint8Array(fileDigest), path: '/usr/bin/bash' });
    const r = replayImaEntries([e!]);
    expect(r.templateHashMismatches).toEqual([]);
    expect(imaPcrsToJson(r)).toEqual({
      sha1: { '10': sha1(Buffer.alloc(20), ngHash).toString('hex') },
      sha256: { '10': sha256(Buffer.alloc(32), sha256(ngData)).toString('hex') },
    });
  });

  it("hashes the 'ima' template as digest | name padded to 256 bytes, without lengths", () => {
    const d = sha1(Buffer.from('old file'));
    const data = Buffer.concat([d, Buffer.from('/sbin/init', 'latin1'), Buffer.alloc(256 - '/sbin/init'.length)]);
    const line = `10 ${sha1(data).toString('hex')} ima ${d.toString('hex')} /sbin/init\n`;
    const [e] = parseImaLog(Buffer.from(line));
    expect(Buffer.from(e!.templateData!).equals(data)).toBe(true);
    expect(replayImaEntries([e!]).templateHashMismatches).toEqual([]);
  });

  it('reads ima-sig with and without a signature (an empty field leaves a trailing space)', () => {
    const sig = Buffer.from('030204aabbccdd', 'hex');
    const withSig = Buffer.concat([ngData, field(sig)]);
    const without = Buffer.concat([ngData, field(Buffer.alloc(0))]);
    const text =
      `10 ${sha1(withSig).toString('hex')} ima-sig sha256:${fileDigest.toString('hex')} /usr/bin/bash ${sig.toString('hex')}\n` +
      `10 ${sha1(without).toString('hex')} ima-sig sha256:${fileDigest.toString('hex')} /usr/bin/bash \n`;
    const entries = parseImaLog(Buffer.from(text));
    expect(entries.map((e) => Buffer.from(e.templateData!).toString('hex'))).toEqual([withSig.toString('hex'), without.toString('hex')]);
    expect(entries[0]!.template).toMatchObject({ kind: 'ima-sig', signature: new Uint8Array(sig), path: '/usr/bin/bash' });
    expect(replayImaEntries(entries).templateHashMismatches).toEqual([]);
    // The formatter writes the same lines back.
    expect(entries.map((e) => `${Buffer.from(formatImaAsciiLine(e)).toString('latin1')}\n`).join('')).toBe(text);
    // A copy stripped of the trailing space still has the empty signature field.
    const [stripped] = parseImaLog(Buffer.from(text.split('\n')[1]!.trimEnd()));
    expect(Buffer.from(stripped!.templateData!).equals(without)).toBe(true);
  });

  it('extends a violation (all-zero template hash) as all ones in every bank', () => {
    const violation = `10 ${'0'.repeat(40)} ima-ng sha256:${'0'.repeat(40)} /var/log/opened-for-write\n`;
    const r = replayImaEntries(parseImaLog(Buffer.from(violation)));
    expect(r.violations).toBe(1);
    expect(imaPcrsToJson(r)).toEqual({
      sha1: { '10': sha1(Buffer.alloc(20), Buffer.alloc(20, 0xff)).toString('hex') },
      sha256: { '10': sha256(Buffer.alloc(32), Buffer.alloc(32, 0xff)).toString('hex') },
    });
  });

  it('reports entries whose data does not hash to their template hash', () => {
    const forged = ngLine.replace('/usr/bin/bash', '/usr/bin/bosh');
    const r = replayImaEntries(parseImaLog(Buffer.from(`${ngLine}\n${forged}\n`)));
    expect(r.templateHashMismatches).toEqual([1]);
  });

  it('replays an unknown template into SHA-1 only: its data cannot be rebuilt from text', () => {
    const r = replayImaEntries(parseImaLog(Buffer.from(`${ngLine}\n10 ${'ab'.repeat(20)} ima-future whatever fields\n`)));
    expect(r.incompleteBanks).toEqual(['sha256']);
    expect([...r.pcrs.keys()]).toEqual(['sha1']);
    expect(imaPcrsToJson(r).sha1!['10']).toBe(sha1(sha1(Buffer.alloc(20), ngHash), Buffer.from('ab'.repeat(20), 'hex')).toString('hex'));
  });

  it('accepts the kernel\'s "%2d" PCR padding and extends each PCR separately', () => {
    const line9 = ngLine.replace(/^10/, ' 9');
    const r = replayImaEntries(parseImaLog(Buffer.from(`${line9}\n${ngLine}\n`)));
    expect(imaPcrsToJson(r).sha1).toEqual({ '9': sha1(Buffer.alloc(20), ngHash).toString('hex'), '10': sha1(Buffer.alloc(20), ngHash).toString('hex') });
  });

  it.each([
    ['a PCR that is not a number', `1x ${ngHash.toString('hex')} ima-ng sha256:00 /x\n`, 0, 0],
    ['a template hash that is not hex', `10 ${'zz'.repeat(20)} ima-ng sha256:00 /x\n`, 0, 3],
    ['a template hash of the wrong size', `10 ${'ab'.repeat(32)} ima-ng sha256:00 /x\n`, 0, 3],
    ['a digest without its algorithm', `${ngLine}\n10 ${ngHash.toString('hex')} ima-ng ${'ab'.repeat(32)} /x\n`, 1, ngLine.length + 1 + 51],
  ])('rejects %s with the entry and byte offset', (_what, text, entryIndex, offset) => {
    const err = parseError(Buffer.from(text));
    expect(err.entryIndex).toBe(entryIndex);
    expect(err.offset).toBe(offset);
  });

  it('refuses a line longer than maxEntrySize without reading the rest of an endless stream', async () => {
    let pulls = 0;
    const endless = async function* () {
      for (;;) {
        pulls++;
        yield new Uint8Array(4096).fill(0x31);
      }
    };
    await expect(replayImaLog(endless(), { maxEntrySize: 64 * 1024 })).rejects.toThrow(/longer than the 65536-byte limit/);
    expect(pulls).toBeLessThan(40);
  });
});

describe('IMA binary list', () => {
  const ngEntry = { pcr: 10, templateHash: new Uint8Array(ngHash), templateName: 'ima-ng', templateData: new Uint8Array(ngData) };

  it('writes and reads the layout of ima_measurements_show', () => {
    const bin = serializeImaBinary([ngEntry]);
    const expected = Buffer.concat([u32(10), ngHash, u32(6), Buffer.from('ima-ng'), u32(ngData.length), ngData]);
    expect(Buffer.from(bin).equals(expected)).toBe(true);
    const [e] = parseImaLog(bin);
    expect(e).toMatchObject({ pcr: 10, templateName: 'ima-ng', template: { kind: 'ima-ng', path: '/usr/bin/bash' } });
    // Text and binary give the same entry.
    const [fromText] = parseImaLog(Buffer.from(ngLine));
    expect({ ...e, offset: 0 }).toEqual(fromText);
  });

  it("writes the 'ima' template without a template data length and with a bare name", () => {
    const d = sha1(Buffer.from('x'));
    const data = Buffer.concat([d, Buffer.from('/init'), Buffer.alloc(256 - 5)]);
    const bin = serializeImaBinary([{ pcr: 10, templateHash: new Uint8Array(sha1(data)), templateName: 'ima', templateData: new Uint8Array(data) }]);
    expect(Buffer.from(bin).equals(Buffer.concat([u32(10), sha1(data), u32(3), Buffer.from('ima'), d, u32(5), Buffer.from('/init')]))).toBe(true);
    expect(Buffer.from(parseImaLog(bin)[0]!.templateData!).equals(data)).toBe(true);
  });

  it('skips an unknown template by its declared length and still replays it in both banks', () => {
    const odd = Buffer.from('opaque data of a template nobody here knows');
    const entries = [ngEntry, { pcr: 10, templateHash: new Uint8Array(sha1(odd)), templateName: 'ima-future', templateData: new Uint8Array(odd) }, ngEntry];
    const parsed = parseImaLog(serializeImaBinary(entries));
    expect(parsed.map((e) => e.template.kind)).toEqual(['ima-ng', 'unknown', 'ima-ng']);
    const r = replayImaEntries(parsed);
    expect(r.incompleteBanks).toEqual([]);
    expect(imaPcrsToJson(r).sha256!['10']).toBe(
      sha256(sha256(sha256(Buffer.alloc(32), sha256(ngData)), sha256(odd)), sha256(ngData)).toString('hex'),
    );
  });

  it('rejects a truncated entry and an oversized template data length', async () => {
    const bin = serializeImaBinary([ngEntry, ngEntry]);
    const cut = parseError(bin.subarray(0, bin.length - 5));
    expect(cut.entryIndex).toBe(1);
    expect(cut.reason).toMatch(/truncated/);
    const huge = Buffer.concat([u32(10), ngHash, u32(6), Buffer.from('ima-ng'), u32(0x7fff_ffff), Buffer.alloc(16)]);
    const err = parseError(huge);
    expect(err.reason).toMatch(/limit/);
    expect(err.offset).toBe(4 + 20 + 4 + 6);
  });

  it('streams: the first entry is yielded after reading only the first chunk', async () => {
    const bin = serializeImaBinary(Array.from({ length: 200 }, () => ngEntry));
    let pulled = 0;
    const source = async function* () {
      for (let i = 0; i < bin.length; i += 256) {
        pulled++;
        yield bin.subarray(i, i + 256);
      }
    };
    const it = readImaLog(source())[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    expect(pulled).toBe(1);
    await it.return?.();
  });
});
