import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { openSqliteStore, type Store } from '../src/store/index.js';
import { AttestationRetention } from '../src/verifier/retention/attestation-retention.js';
import { enrollPlaceholderDevice } from './enrolled-device.js';
import { makeTempDir } from '../../test/harness/pki.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 29);

let tmp: { path: string; cleanup: () => Promise<void> };
let store: Store;
let lines: Array<Record<string, unknown>>;
const log = () => createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } });

beforeEach(async () => {
  tmp = await makeTempDir('vigil-retention-');
  store = await openSqliteStore(join(tmp.path, 'vigil.db'));
  lines = [];
  await enrollPlaceholderDevice(store, 'cam-1');
  // Received 40, 20 and 10 days ago, and now.
  for (const age of [40 * DAY, 20 * DAY, 10 * DAY, 0]) {
    await store.recordAttestation({
      attestation: { deviceId: 'cam-1', challengeId: null, receivedAt: NOW - age, evidenceDigest: 'ab'.repeat(32), status: 'affirming', verdict: null, error: null, policy: null, tpmClock: null },
      device: { status: 'affirming', verified: true },
      actor: 'verifier',
    });
  }
});

afterEach(async () => {
  await store.close().catch(() => undefined);
  await tmp.cleanup();
});

const ages = async () => (await store.listAttestations('cam-1')).map((a) => (NOW - a.receivedAt) / DAY);

describe('AttestationRetention', () => {
  it('deletes what is older than the retention, as of its clock, and says so', async () => {
    const retention = new AttestationRetention({ store, log: log(), now: () => NOW }, { keepMs: 15 * DAY });
    expect(await retention.prune()).toBe(2);
    expect(await ages()).toEqual([0, 10]);
    expect(lines.find((l) => l['msg'] === 'pruned attestation history')).toMatchObject({ deleted: 2, receivedBefore: new Date(NOW - 15 * DAY).toISOString() });
    expect(await retention.prune()).toBe(0);
  });

  it('a retention of 0 keeps everything and never touches the store', async () => {
    const retention = new AttestationRetention({ store, log: log(), now: () => NOW }, { keepMs: 0 });
    retention.start();
    expect(await retention.prune()).toBe(0);
    await retention.close();
    expect(await ages()).toEqual([0, 10, 20, 40]);
  });

  it('prunes soon after start and then on its schedule; close stops it', async () => {
    let now = NOW;
    const retention = new AttestationRetention({ store, log: log(), now: () => now }, { keepMs: 30 * DAY, firstAfterMs: 10, everyMs: 50 });
    retention.start();
    await expect.poll(ages, { timeout: 5000 }).toEqual([0, 10, 20]);
    now = NOW + 15 * DAY; // the 20-day-old one is now 35 days old
    await expect.poll(ages, { timeout: 5000 }).toEqual([0, 10]);
    await retention.close();
    now = NOW + 100 * DAY;
    await new Promise((r) => setTimeout(r, 200));
    expect(await ages()).toEqual([0, 10]);
  });

  it('a failing store is logged, not thrown, and the next prune tries again', async () => {
    const retention = new AttestationRetention({ store, log: log(), now: () => NOW }, { keepMs: 15 * DAY });
    await store.close();
    expect(await retention.prune()).toBe(0);
    expect(lines.find((l) => l['msg'] === 'pruning attestation history failed')).toBeDefined();
  });

  it('refuses a negative or non-finite retention', () => {
    for (const keepMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new AttestationRetention({ store, log: log() }, { keepMs })).toThrow(RangeError);
    }
  });
});
