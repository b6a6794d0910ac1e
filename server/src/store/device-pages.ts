import type { Device, DeviceFilter } from './entities/device.js';
import type { Store } from './store.js';

/** Devices read at a time when a caller walks the fleet. */
export const DEVICE_PAGE_SIZE = 500;

/**
 * Every device `filter` admits, a page at a time in id order, with a turn of
 * the event loop between pages. For jobs that walk the whole fleet while the
 * verifier runs (the staleness check, the external broker's discovery and
 * reconciliation): one listing of everything reads and decodes every row in
 * one go, ~20 ms of blocked event loop per 1,000 devices on this machine
 * (docs/benchmarks.md, "Twentieth round").
 */
export async function* devicePages(
  store: Pick<Store, 'listDevices'>,
  filter: Omit<DeviceFilter, 'afterId' | 'limit'> = {},
  pageSize = DEVICE_PAGE_SIZE,
): AsyncGenerator<Device[], void, undefined> {
  let afterId: string | undefined;
  for (;;) {
    const page = await store.listDevices({ ...filter, ...(afterId !== undefined ? { afterId } : {}), limit: pageSize });
    if (page.length > 0) yield page;
    if (page.length < pageSize) return;
    afterId = page[page.length - 1]!.id;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
