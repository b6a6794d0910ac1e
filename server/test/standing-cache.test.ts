import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { timeOrderedId } from '@vigil/protocol';
import { openSqliteStore, type DeviceStanding } from '../src/store/index.js';
import { StandingCache } from '../src/store/sqlite/standing-cache.js';
import { enrollPlaceholderDevice } from './enrolled-device.js';

const run = promisify(execFile);

/**
 * The SQLite store's held standings. That a standing is read again after
 * every change, from any connection or process, is in the store contract
 * (store-suite.ts, run on both stores); here: the cache's own rules, and
 * that the SQLite store does serve the verifier's second read from memory.
 */

const standing = (id: string, status: DeviceStanding['status'] = 'none'): DeviceStanding => ({
  id,
  akName: 'ak',
  facts: { hostname: 'h', os: 'o', arch: 'a', agentVersion: '1', tpm: { manufacturer: 'm', firmwareVersion: 'f' } },
  status,
  revoked: false,
  reenrollAllowed: false,
  group: null,
  lastVerifiedAt: null,
  tpmClock: null,
  updatedAt: 0,
  log: null,
});

/** Lets the event loop turn once (past its check phase). */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('StandingCache', () => {
  const caches: StandingCache[] = [];
  const cache = (dataVersion: () => number, capacity?: number) => {
    const c = new StandingCache(dataVersion, capacity);
    caches.push(c);
    return c;
  };
  afterEach(() => {
    for (const c of caches.splice(0)) c.close();
  });

  it('holds a standing until the data version moves, the device is forgotten or a write may change it', async () => {
    let version = 1;
    const c = cache(() => version);
    expect(c.get('a')).toBeUndefined();
    const a = standing('a');
    c.set('a', a);
    c.set('b', standing('b'));
    expect(c.get('a')).toBe(a);

    c.forget('a');
    expect(c.get('a')).toBeUndefined();
    expect(c.get('b')).toBeDefined();
    c.wrote(false);
    expect(c.get('b')).toBeDefined();

    // Another process committed: from the next turn on, nothing read before it is served.
    version = 2;
    await nextTurn();
    expect(c.get('b')).toBeUndefined();
    expect(c.size).toBe(0);

    c.set('b', standing('b'));
    c.wrote(true);
    expect(c.get('b')).toBeUndefined();
  });

  it('reads the data version once a turn of the event loop', async () => {
    let reads = 0;
    const c = cache(() => ++reads);
    c.get('a');
    c.set('a', standing('a'));
    for (let i = 0; i < 5; i++) expect(c.get('a')).toBeDefined();
    expect(reads).toBe(1);
    await nextTurn();
    // The version moved (every read here returns a new one): dropped.
    expect(c.get('a')).toBeUndefined();
    expect(reads).toBe(2);
  });

  it('a standing read across another process’s commit is dropped in the next turn', async () => {
    let version = 5;
    const c = cache(() => version);
    expect(c.get('a')).toBeUndefined(); // version 5 noted
    version = 6; // a commit lands between the lookup and the read
    c.set('a', standing('a', 'warning'));
    await nextTurn();
    expect(c.get('a')).toBeUndefined();
  });

  it('a write through one store empties every other store’s cache in the process, at once', () => {
    const mine = cache(() => 1);
    const theirs = cache(() => 1);
    for (const c of [mine, theirs]) {
      c.get('a');
      c.set('a', standing('a'));
    }
    theirs.wrote(false);
    expect(mine.get('a')).toBeUndefined();
    expect(theirs.get('a')).toBeDefined();
  });

  it('stays within its capacity', () => {
    const c = cache(() => 1, 3);
    c.get('x');
    for (const id of ['a', 'b', 'c', 'd', 'e']) c.set(id, standing(id));
    expect(c.size).toBeLessThanOrEqual(3);
    expect(c.get('e')).toBeDefined();
  });
});

describe('SQLite store: standings held between a challenge and its answer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-standing-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves the second read from memory, and reads again after a verdict, another write, or another connection', async () => {
    const path = join(dir, 'vigil.db');
    const store = await openSqliteStore(path);
    const other = await openSqliteStore(path);
    try {
      await enrollPlaceholderDevice(store, 'dev-1');
      await enrollPlaceholderDevice(store, 'dev-2');
      const first = await store.getDeviceStanding('dev-1');
      // Held: the very same object, no statement run.
      expect(await store.getDeviceStanding('dev-1')).toBe(first);

      // A challenge issued, used and a verdict recorded for another device: dev-1 stays held.
      const use = (deviceId: string) => ({ id: timeOrderedId() + 'x'.repeat(40), deviceId, usedAt: Date.now(), expiresAt: Date.now() + 30_000 });
      const verdict = (deviceId: string) => ({
        attestation: {
          deviceId,
          challengeId: null,
          receivedAt: Date.now(),
          evidenceDigest: 'ab'.repeat(32),
          status: 'affirming' as const,
          verdict: null,
          error: null,
          policy: null,
          tpmClock: null,
        },
        device: { status: 'affirming' as const, verified: true },
        actor: 'verifier',
      });
      await store.recordAnswer(use('dev-2'), verdict('dev-2'));
      expect(await store.getDeviceStanding('dev-1')).toBe(first);

      // Its own verdict: read again, with the new status.
      await store.recordAnswer(use('dev-1'), verdict('dev-1'));
      const afterVerdict = await store.getDeviceStanding('dev-1');
      expect(afterVerdict).not.toBe(first);
      expect(afterVerdict).toMatchObject({ status: 'affirming' });
      expect(await store.getDeviceStanding('dev-1')).toBe(afterVerdict);

      // Any other write through this connection: everything read again.
      await store.appendAudit({ actor: 'test', action: 'test.write', subject: 's' });
      const afterAudit = await store.getDeviceStanding('dev-1');
      expect(afterAudit).not.toBe(afterVerdict);
      expect(afterAudit).toEqual(afterVerdict);

      // A commit on another connection in this process, even one that does not touch devices.
      await other.appendAudit({ actor: 'test', action: 'test.write', subject: 's' });
      const afterOther = await store.getDeviceStanding('dev-1');
      expect(afterOther).not.toBe(afterAudit);

      // Another process's commit (the sqlite3 CLI): seen from the next turn of the event loop.
      await run('sqlite3', [path, `UPDATE devices SET device_group = 'drones' WHERE id = 'dev-1'`]);
      expect(await store.getDeviceStanding('dev-1')).toMatchObject({ group: 'drones' });
    } finally {
      await other.close();
      await store.close();
    }
  });
});
