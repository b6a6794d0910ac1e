/**
 * The model measurement log: IMA ima-ng lines on the model PCR, readable by
 * the IMA parser, and its replay equal to extending each template hash by
 * hand, as the agent does into the TPM.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImaParseError } from '../src/ima/errors.js';
import { parseImaLog } from '../src/ima/read.js';
import { hashModel } from '../src/models/hash-model.js';
import {
  DEFAULT_MODEL_PCR,
  formatModelLog,
  isAcceptableModelPcr,
  modelMeasurement,
  modelMeasurements,
  replayModelLog,
} from '../src/models/measurement-log.js';

const sha1 = (...b: Uint8Array[]) => createHash('sha1').update(Buffer.concat(b)).digest();
const sha256 = (...b: Uint8Array[]) => createHash('sha256').update(Buffer.concat(b)).digest();
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'vigil-modellog-'));
  mkdirSync(join(root, 'model'));
  writeFileSync(join(root, 'model', 'weights.bin'), 'weights');
  writeFileSync(join(root, 'model', 'tokenizer.json'), '{}');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('model measurement log', () => {
  it('defaults to PCR 13 and refuses PCRs software can reset or DRTM owns', () => {
    expect(DEFAULT_MODEL_PCR).toBe(13);
    expect([13, 0, 15].every(isAcceptableModelPcr)).toBe(true);
    for (const pcr of [16, 17, 22, 23, 24, -1, 1.5]) {
      expect(isAcceptableModelPcr(pcr)).toBe(false);
      expect(() => modelMeasurement('/m', 'a'.repeat(64), pcr)).toThrow(RangeError);
    }
  });

  it('writes an ima-ng line whose template hash covers d-ng and n-ng as IMA lays them out', () => {
    const digest = sha256(Buffer.from('weights'));
    const m = modelMeasurement('/opt/models/weights.bin', digest.toString('hex'));
    const data = Buffer.concat([
      u32(8 + 32),
      Buffer.from('sha256:\0', 'latin1'),
      digest,
      u32('/opt/models/weights.bin'.length + 1),
      Buffer.from('/opt/models/weights.bin\0'),
    ]);
    expect(Buffer.from(m.templateData).equals(data)).toBe(true);
    expect(m.line).toBe(`13 ${sha1(data).toString('hex')} ima-ng sha256:${digest.toString('hex')} /opt/models/weights.bin`);
    expect(Buffer.from(m.extend.sha1).equals(sha1(data))).toBe(true);
    expect(Buffer.from(m.extend.sha256).equals(sha256(data))).toBe(true);
    // IMA's own parser reads it back as the same entry.
    const [e] = parseImaLog(Buffer.from(m.line));
    expect(e).toMatchObject({ pcr: 13, templateName: 'ima-ng', template: { kind: 'ima-ng', algorithm: 'sha256', path: '/opt/models/weights.bin' } });
  });

  it('stores spaces in paths as underscores, as the kernel does', () => {
    const m = modelMeasurement('/opt/my model/w.bin', 'b'.repeat(64));
    expect(m.line.endsWith(' /opt/my_model/w.bin')).toBe(true);
  });

  it('replays a hashed model to what extending each entry by hand gives', async () => {
    const hashed = await hashModel(join(root, 'model'));
    const measurements = modelMeasurements(hashed);
    const log = formatModelLog(measurements);
    let pcr1 = Buffer.alloc(20);
    let pcr256 = Buffer.alloc(32);
    for (const m of measurements) {
      pcr1 = sha1(pcr1, m.extend.sha1);
      pcr256 = sha256(pcr256, m.extend.sha256);
    }
    const replay = await replayModelLog(Buffer.from(log));
    expect(replay.pcrs).toEqual({ sha1: { '13': pcr1.toString('hex') }, sha256: { '13': pcr256.toString('hex') } });
    expect(replay.entries).toEqual(hashed.files.map((f) => ({ pcr: 13, path: f.absolutePath, digest: f.digest, verified: true })));
  });

  it('marks an entry whose digest was edited, and the replay no longer matches', async () => {
    const m = modelMeasurement('/opt/models/weights.bin', 'c'.repeat(64));
    const honest = await replayModelLog(Buffer.from(formatModelLog([m])));
    const edited = m.line.replace('c'.repeat(64), 'd'.repeat(64));
    const forged = await replayModelLog(Buffer.from(`${edited}\n`));
    expect(forged.entries[0]!.verified).toBe(false);
    expect(forged.pcrs.sha256).not.toEqual(honest.pcrs.sha256);
  });

  it('refuses entries that are not ima-ng sha256 measurements', async () => {
    const other = modelMeasurement('/m', 'e'.repeat(64)).line.replace('ima-ng sha256:', 'ima-ng sha1:').replace('e'.repeat(64), 'e'.repeat(40));
    await expect(replayModelLog(Buffer.from(`${other}\n`))).rejects.toThrow(ImaParseError);
  });
});
