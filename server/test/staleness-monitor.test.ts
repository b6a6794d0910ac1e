/**
 * The staleness monitor decides on the fleet as it listed it, and a verdict
 * can be recorded between that list and the change it makes (by this
 * process or by another verifier replica): the verdict must win. Real
 * SQLite store; the verdict is recorded right after the monitor's list was
 * read, which is where the race falls.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { openSqliteStore, type Store } from '../src/store/index.js';
import { StalenessMonitor } from '../src/verifier/staleness/monitor.js';
import { enrollPlaceholderDevice } from './enrolled-device.js';
import { makeTempDir } from '../../test/harness/pki.js';

const INTERVAL_MS = 1_000;
const STALE_AFTER = 3;
const GRACE_MS = 10_000;

let tmp: { path: string; cleanup: () => Promise<void> };
let store: Store;
let now: number;

beforeEach(async () => {
  tmp = await makeTempDir('vigil-staleness-');
  store = await openSqliteStore(join(tmp.path, 'vigil.db'));
  // Enrolled now, never verified: stale once STALE_AFTER intervals have passed.
  await enrollPlaceholderDevice(store, 'cam-verified-meanwhile');
  await enrollPlaceholderDevice(store, 'cam-silent');
  now = Date.now();
});

afterEach(async () => {
  await store.close().catch(() => undefined);
  await tmp.cleanup();
});

/** An affirming verdict for `deviceId`, as the verifier records it. */
function verdictFor(deviceId: string): Promise<unknown> {
  return store.recordAttestation({
    attestation: { deviceId, challengeId: null, receivedAt: Date.now(), evidenceDigest: 'ab'.repeat(32), status: 'affirming', verdict: null, error: null, policy: null, tpmClock: null },
    device: { status: 'affirming', verified: true },
    actor: 'verifier',
  });
}

/** The store, but `cam-verified-meanwhile` gets a verdict right after each fleet list the monitor reads. */
function racingStore(): Store {
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'listDevices') {
        return async (...args: Parameters<Store['listDevices']>) => {
          const listed = await target.listDevices(...args);
          await verdictFor('cam-verified-meanwhile');
          return listed;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function monitor(): StalenessMonitor {
  const racing = racingStore();
  return new StalenessMonitor(
    {
      store: racing,
      revoker: { revoke: (deviceId, reason, actor, message, ifLastVerifiedAt) => store.revokeDevice({ deviceId, reason, actor, message, ifLastVerifiedAt }) },
      log: createLogger({ level: 'silent' }),
      now: () => now,
    },
    { intervalMs: INTERVAL_MS, staleAfterIntervals: STALE_AFTER, graceMs: GRACE_MS },
  );
}

const staleAudits = async (deviceId: string) =>
  (await store.listAudit({ limit: 100_000 })).filter((e) => e.subject === `device:${deviceId}` && (e.details['reason'] === 'stale' || e.action === 'device.revoke'));

describe('StalenessMonitor', () => {
  it('does not mark a device stale when a verdict lands between its list and its change', async () => {
    const m = monitor();
    now += STALE_AFTER * INTERVAL_MS + 500;
    await m.check();
    expect((await store.getDevice('cam-verified-meanwhile'))!.status).toBe('affirming');
    expect(await staleAudits('cam-verified-meanwhile')).toEqual([]);
    // The device nobody verified is marked, as before.
    expect((await store.getDevice('cam-silent'))!.status).toBe('warning');
    expect(await staleAudits('cam-silent')).toHaveLength(1);
  });

  it('does not revoke a device as stale when a verdict lands between its list and the revocation', async () => {
    const m = monitor();
    now += STALE_AFTER * INTERVAL_MS + GRACE_MS + 500;
    await m.check();
    const verified = (await store.getDevice('cam-verified-meanwhile'))!;
    expect(verified.revoked).toBe(false);
    expect(verified.status).toBe('affirming');
    expect(await store.listRevocations('cam-verified-meanwhile')).toEqual([]);
    expect(await staleAudits('cam-verified-meanwhile')).toEqual([]);
    expect((await store.getDevice('cam-silent'))!.revoked).toBe(true);
    expect(await store.listRevocations('cam-silent')).toMatchObject([{ reason: 'stale', actor: 'staleness' }]);
  });
});
