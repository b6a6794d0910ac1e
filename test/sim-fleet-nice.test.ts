/**
 * The load generators yield the cores to the server they measure: every
 * thread of every load-generator process runs at the fleet's nice value
 * (`bench/src/fleet/niceness.ts`), read back from the kernel
 * (/proc/<pid>/task/<tid>/stat), while the process that started them keeps
 * its own. Linux keeps the value per thread, so setting it for the process
 * id alone would leave V8's and libuv's threads at the server's priority.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_LOAD_NICE, Fleet, SoftwareTpm, type SimIdentity } from '../bench/src/fleet/index.js';
import { childrenOf } from '../bench/src/proc-children.js';
import { makeDeviceCredentials, makeFleetCa } from './harness/pki.js';

let fleet: Fleet | undefined;

afterEach(async () => {
  await fleet?.stop();
  fleet = undefined;
});

/** Each thread's nice value (proc(5) stat field 19; fields counted after the parenthesised name, which may hold spaces). */
function threadNice(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])];
    } catch {
      return []; // the thread ended meanwhile
    }
  });
}

function loadWorkers(): number[] {
  return childrenOf(process.pid).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('load-worker.js');
    } catch {
      return false;
    }
  });
}

async function devices(count: number): Promise<SimIdentity[]> {
  const ca = await makeFleetCa();
  return Array.from({ length: count }, (_, i) => {
    const c = makeDeviceCredentials(ca, `nice-${i}`);
    return { deviceId: `nice-${i}`, certPem: c.certPem, keyPem: c.keyPem, serial: c.serial, tpm: new SoftwareTpm() };
  });
}

describe.skipIf(process.platform !== 'linux')('load-generator priority', () => {
  it.each([
    ['asked for', 7, 7],
    ['by default', undefined, DEFAULT_LOAD_NICE],
    ['at the server priority', 0, 0],
  ])('every thread of every load generator runs at the nice value %s', async (_, asked, expected) => {
    const ownBefore = threadNice(process.pid);
    // Nothing connects before `connect`: the port and CA are never used.
    fleet = await Fleet.start({ port: 1, caPem: 'unused', devices: await devices(2), processes: 2, ...(asked !== undefined ? { nice: asked } : {}) });
    expect(fleet.nice).toBe(expected);
    const workers = loadWorkers();
    expect(workers).toHaveLength(2);
    for (const pid of workers) {
      const nice = threadNice(pid);
      // A Node process has its main thread, V8's platform workers and libuv's threads.
      expect(nice.length).toBeGreaterThan(3);
      expect(new Set(nice)).toEqual(new Set([expected]));
    }
    expect(threadNice(process.pid).every((n) => n === ownBefore[0])).toBe(true);
  });

  it('refuses a nice value outside 0-19 before forking anything', async () => {
    await expect(Fleet.start({ port: 1, caPem: 'unused', devices: await devices(1), nice: 20 })).rejects.toThrow('not a nice value from 0 to 19: 20');
    expect(loadWorkers()).toHaveLength(0);
  });
});
