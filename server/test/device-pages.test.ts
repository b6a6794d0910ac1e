/**
 * devicePages (server/src/store/device-pages.ts): a walk over the fleet a
 * page at a time, against a real SQLite store. Every device the filter
 * admits comes exactly once, in id order, no page is larger than asked,
 * and the event loop turns between pages (so other devices' messages are
 * served during a walk of a large fleet).
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { devicePages, openSqliteStore, type Store } from '../src/store/index.js';
import { enrollPlaceholderDevice } from './enrolled-device.js';
import { makeTempDir } from '../../test/harness/pki.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let store: Store;
const ids = Array.from({ length: 23 }, (_, i) => `cam-${String(i).padStart(2, '0')}`);

beforeEach(async () => {
  tmp = await makeTempDir('vigil-device-pages-');
  store = await openSqliteStore(join(tmp.path, 'vigil.db'));
  for (const id of [...ids].reverse()) await enrollPlaceholderDevice(store, id);
});

afterEach(async () => {
  await store.close().catch(() => undefined);
  await tmp.cleanup();
});

async function walk(pageSize: number, filter: Parameters<typeof devicePages>[1] = {}): Promise<{ pages: string[][]; turnsBetween: number[] }> {
  const pages: string[][] = [];
  const turnsBetween: number[] = [];
  let turns = 0;
  let ticking = true;
  const tick = (): void => {
    turns++;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  let last = 0;
  for await (const page of devicePages(store, filter, pageSize)) {
    if (pages.length > 0) turnsBetween.push(turns - last);
    last = turns;
    pages.push(page.map((d) => d.id));
  }
  ticking = false;
  return { pages, turnsBetween };
}

describe('devicePages', () => {
  it.each([1, 4, 5, 22, 23, 24, 500])('pages of %i: every device once, in id order, no page over the size', async (size) => {
    const { pages } = await walk(size);
    expect(pages.flat()).toEqual([...ids].sort());
    for (const p of pages) {
      expect(p.length).toBeGreaterThan(0);
      expect(p.length).toBeLessThanOrEqual(size);
    }
    expect(pages.length).toBe(Math.ceil(ids.length / size));
  });

  it('the event loop turns between pages', async () => {
    const { pages, turnsBetween } = await walk(5);
    expect(pages.length).toBe(5);
    expect(turnsBetween).toHaveLength(4);
    for (const t of turnsBetween) expect(t).toBeGreaterThan(0);
  });

  it('keeps the filter on every page', async () => {
    await store.revokeDevice({ deviceId: 'cam-03', reason: 'admin', actor: 'test', message: 'test' });
    await store.revokeDevice({ deviceId: 'cam-17', reason: 'admin', actor: 'test', message: 'test' });
    const { pages } = await walk(4, { revoked: false });
    expect(pages.flat()).toEqual(ids.filter((id) => id !== 'cam-03' && id !== 'cam-17'));
  });

  it('an empty fleet gives no page', async () => {
    const { pages } = await walk(4, { group: 'none-such' });
    expect(pages).toEqual([]);
  });
});
