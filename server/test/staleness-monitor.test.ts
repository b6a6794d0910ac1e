/**
 * The staleness monitor decides on the fleet as it listed it, and a verdict
 * can be recorded between that list and the change it makes (by this
 * process or by another verifier replica): the verdict must win. Real
 * SQLite store; the verdict is recorded right after the monitor's list was
 * read, which is where the race falls.
 *
 * A check reads only what can be stale: nothing before `staleAfterMs` has
 * passed since the start, then the devices silent that long, a page at a
 * time with a turn of the event loop between pages.
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

type DeviceFilter = Parameters<Store['listDevices']>[0];

interface Listing {
  readonly filter: DeviceFilter;
  readonly ids: string[];
  /** Whether the event loop turned (a setImmediate ran) since the listing before. */
  readonly yielded: boolean;
}

/** The store, recording every fleet listing the monitor reads. */
function listingStore(listings: Listing[]): Store {
  let turned = true;
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'listDevices') {
        return async (filter?: DeviceFilter) => {
          const yielded = turned;
          turned = false;
          setImmediate(() => (turned = true));
          const listed = await target.listDevices(filter);
          listings.push({ filter, ids: listed.map((d) => d.id), yielded });
          return listed;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function monitorOn(on: Store, pageSize?: number): StalenessMonitor {
  return new StalenessMonitor(
    {
      store: on,
      revoker: { revoke: (deviceId, reason, actor, message, ifLastVerifiedAt) => store.revokeDevice({ deviceId, reason, actor, message, ifLastVerifiedAt }) },
      log: createLogger({ level: 'silent' }),
      now: () => now,
    },
    { intervalMs: INTERVAL_MS, staleAfterIntervals: STALE_AFTER, graceMs: GRACE_MS, ...(pageSize === undefined ? {} : { pageSize }) },
  );
}

/** A verified attestation of `deviceId`, received at `receivedAt`. */
function verifiedAt(deviceId: string, receivedAt: number): Promise<unknown> {
  return store.recordAttestation({
    attestation: { deviceId, challengeId: null, receivedAt, evidenceDigest: 'cd'.repeat(32), status: 'affirming', verdict: null, error: null, policy: null, tpmClock: null },
    device: { status: 'affirming', verified: true },
    actor: 'verifier',
  });
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

  it('reads nothing from the store until staleAfterMs has passed since it started', async () => {
    const listings: Listing[] = [];
    const start = now;
    const m = monitorOn(listingStore(listings));
    for (const after of [0, 1, STALE_AFTER * INTERVAL_MS - 1]) {
      now = start + after;
      await m.check();
    }
    expect(listings).toEqual([]);
    expect((await store.getDevice('cam-silent'))!.status).toBe('none');
    // At staleAfterMs exactly, the never-verified devices enrolled before the start are stale.
    now = start + STALE_AFTER * INTERVAL_MS;
    await m.check();
    expect(listings.map((l) => l.filter)).toEqual([{ revoked: false, silentSince: start, afterId: undefined, limit: 500 }]);
    expect((await store.getDevice('cam-silent'))!.status).toBe('warning');
  });

  it('walks a fleet larger than a page: every stale device marked or revoked, the fresh ones neither read nor touched', async () => {
    const PAGE = 4;
    // Of every four devices (interleaved, so that pages mix them): one never verified (revoked: silent since the
    // start for longer than the grace), two verified after the start but silent since (marked), one fresh.
    const fate = (i: number) => (['revoke', 'mark', 'fresh', 'mark'] as const)[i % 4]!;
    const ids = Array.from({ length: 30 }, (_, i) => `fleet-${String(i).padStart(2, '0')}`);
    for (const id of ids) await enrollPlaceholderDevice(store, id);
    const start = (now = Date.now());
    const listings: Listing[] = [];
    const m = monitorOn(listingStore(listings), PAGE);
    now = start + STALE_AFTER * INTERVAL_MS + GRACE_MS + 500;
    for (const [i, id] of ids.entries()) {
      if (fate(i) === 'mark') await verifiedAt(id, start + GRACE_MS);
      if (fate(i) === 'fresh') await verifiedAt(id, now - 100);
    }
    await m.check();

    for (const [i, id] of ids.entries()) {
      const device = (await store.getDevice(id))!;
      const want = fate(i);
      expect({ id, revoked: device.revoked, status: device.status }).toEqual({
        id,
        revoked: want === 'revoke',
        status: want === 'revoke' ? device.status : want === 'mark' ? 'warning' : 'affirming',
      });
      expect(await staleAudits(id)).toHaveLength(want === 'fresh' ? 0 : 1);
      if (want === 'revoke') expect(await store.listRevocations(id)).toMatchObject([{ reason: 'stale', actor: 'staleness' }]);
    }
    // beforeEach's two devices, never verified: revoked as well.
    expect((await store.getDevice('cam-silent'))!.revoked).toBe(true);
    expect((await store.getDevice('cam-verified-meanwhile'))!.revoked).toBe(true);

    // Pages of PAGE silent devices, each after the last id of the one before, until a short one; no fresh device read.
    const silent = ['cam-silent', 'cam-verified-meanwhile', ...ids.filter((_, i) => fate(i) !== 'fresh')].sort();
    expect(listings.map((l) => l.ids).flat()).toEqual(silent);
    expect(listings).toHaveLength(Math.floor(silent.length / PAGE) + 1);
    for (const [p, { filter, ids: page, yielded }] of listings.entries()) {
      expect(filter).toEqual({ revoked: false, silentSince: now - STALE_AFTER * INTERVAL_MS, afterId: listings[p - 1]?.ids.at(-1), limit: PAGE });
      expect(page.length).toBe(p < listings.length - 1 ? PAGE : silent.length % PAGE);
      // Other work ran between two pages.
      expect(yielded).toBe(true);
    }
  });

  it('judges a listed device from its reinstatement, which the store filter does not know', async () => {
    await enrollPlaceholderDevice(store, 'cam-reinstated');
    const start = (now = Date.now());
    const listings: Listing[] = [];
    const m = monitorOn(listingStore(listings));
    expect((await store.revokeDevice({ deviceId: 'cam-reinstated', reason: 'admin', actor: 'admin' })).ok).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await store.reinstateDevice({ deviceId: 'cam-reinstated', actor: 'admin' })).ok).toBe(true);
    // Past the grace for devices silent since the start; the reinstated one is ~100 ms short of it.
    now = start + STALE_AFTER * INTERVAL_MS + GRACE_MS + 20;
    await m.check();
    expect(listings[0]!.ids).toContain('cam-reinstated');
    expect((await store.getDevice('cam-silent'))!.revoked).toBe(true);
    const reinstated = (await store.getDevice('cam-reinstated'))!;
    expect({ revoked: reinstated.revoked, status: reinstated.status }).toEqual({ revoked: false, status: 'warning' });
  });
});
