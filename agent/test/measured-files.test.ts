import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MEASURED_FILES_FILE, measuredFilesRecord, readMeasuredFiles, trustedFingerprints, writeMeasuredFiles, type LoggedMeasurements } from '../src/daemon/measured-files.js';
import type { FileFingerprint } from '../src/watch/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-agent-measured-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fp = (n: number): FileFingerprint => ({ dev: 2049n, ino: BigInt(1000 + n), size: 4096n, mtimeNs: 1_700_000_000_123_456_789n + BigInt(n), ctimeNs: 1_700_000_000_987_654_321n });
const digest = (c: string) => c.repeat(64);

describe('measured files record', () => {
  const logged: LoggedMeasurements = { resetCount: 7, pcr: 13, latest: new Map([['/m/a', digest('a')], ['/m/b', digest('b')]]) };
  const measured = new Map([['/m/a', fp(1)], ['/m/b', fp(2)], ['/m/c', fp(3)]]);

  it('round-trips through the state directory, keeping nanosecond times exactly', async () => {
    const record = measuredFilesRecord(logged, measured);
    expect(record.files.map((f) => f.path)).toEqual(['/m/a', '/m/b']); // /m/c has no logged digest
    await writeMeasuredFiles(dir, record);
    const back = await readMeasuredFiles(dir);
    expect(back).toEqual(record);
    expect(trustedFingerprints(back, logged, 7)).toEqual(new Map([['/m/a', fp(1)], ['/m/b', fp(2)]]));
  });

  it('trusts nothing from another TPM boot or model PCR, and no file whose latest logged digest differs', () => {
    const record = measuredFilesRecord(logged, measured);
    expect(trustedFingerprints(record, logged, 8).size).toBe(0); // the TPM was reset since
    expect(trustedFingerprints(record, { ...logged, resetCount: 6 }, 7).size).toBe(0); // the log is from another boot
    expect(trustedFingerprints(record, { ...logged, pcr: 12 }, 7).size).toBe(0);
    const relogged = { ...logged, latest: new Map([['/m/a', digest('a')], ['/m/b', digest('f')]]) };
    expect([...trustedFingerprints(record, relogged, 7).keys()]).toEqual(['/m/a']);
    expect(trustedFingerprints(undefined, logged, 7).size).toBe(0);
  });

  it('reads a damaged or foreign file as no record', async () => {
    const other = await mkdtemp(join(dir, 'bad-'));
    expect(await readMeasuredFiles(other)).toBeUndefined();
    for (const text of ['{', '{"v":1,"resetCount":1,"pcr":13,"files":[{"path":"/x","digest":"zz"}]}', '[]']) {
      await writeFile(join(other, MEASURED_FILES_FILE), text);
      expect(await readMeasuredFiles(other)).toBeUndefined();
    }
  });
});
