/**
 * The daemon's TPM link against a real swtpm: counters read before each
 * use, a simulator restart seen as a TPM reset (keys reloaded), an
 * unreachable TPM reported and retried with backoff until it is back, and
 * transient objects left by a killed process flushed to make room.
 */
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEk, type Ek, flushKey, getHandles, HR, type Tpm } from '@vigil/tpm2-ts';
import { flushTransientObjects, isObjectMemoryFull, loadWithRoom } from '../src/daemon/stale-objects.js';
import { type CounterChange, TpmLink, TpmUnavailableError } from '../src/daemon/tpm-link.js';
import { startSwtpm, type SwtpmInstance } from '../../test/harness/swtpm.js';

const log = pino({ level: 'silent' });
let swtpm: SwtpmInstance;
let dir: string;

beforeAll(async () => {
  swtpm = await startSwtpm();
  dir = await mkdtemp(join(tmpdir(), 'vigil-agent-tpmlink-'));
});
afterAll(async () => {
  await swtpm?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Keys {
  readonly ek: Ek;
  release(): Promise<void>;
}

function link(uri: string, extra: { onCounterChange?: (c: CounterChange) => void; onReachability?: (r: boolean) => void } = {}) {
  let loads = 0;
  const l = new TpmLink<Keys>({
    uri,
    log,
    pollMs: 50,
    initialRetryDelayMs: 50,
    maxRetryDelayMs: 200,
    loadKeys: async (tpm: Tpm) => {
      loads++;
      const ek = await createEk(tpm, 'rsa');
      return { ek, release: () => flushKey(tpm, ek) };
    },
    ...extra,
  });
  return { l, loads: () => loads };
}

describe('TpmLink', () => {
  it('reads the counters, loads the keys once, notices a simulator restart as a reset and reloads them', async () => {
    const changes: CounterChange[] = [];
    const { l, loads } = link(swtpm.uri, { onCounterChange: (c) => changes.push(c) });
    const first = await l.use(async ({ counters, keys }) => ({ counters, name: Buffer.from(keys.ek.name).toString('hex') }));
    await l.use(async () => undefined);
    expect(loads()).toBe(1);
    await swtpm.restart();
    const second = await l.use(async ({ counters, keys }) => ({ counters, name: Buffer.from(keys.ek.name).toString('hex') }));
    expect(changes).toHaveLength(1);
    expect(changes[0]!.kind).toBe('reset');
    expect(second.counters.resetCount).toBe(first.counters.resetCount + 1);
    expect(changes[0]!.current).toEqual(second.counters);
    expect(loads()).toBe(2); // transient objects do not survive a reset
    expect(second.name).toBe(first.name); // same EK: the same TPM
    expect(l.reachable).toBe(true);
    await l.stop();
    // Stopping flushed what it loaded.
    const t = swtpm.connect();
    expect(await getHandles(t, HR.TRANSIENT)).toEqual([]);
    await t.close();
  });

  it('reports an unreachable TPM, keeps retrying with backoff, and recovers when it appears', async () => {
    const path = join(dir, 'late.sock');
    const reach: boolean[] = [];
    const { l } = link(`swtpm:path=${path}`, { onReachability: (r) => reach.push(r) });
    await expect(l.use(async () => 'never')).rejects.toBeInstanceOf(TpmUnavailableError);
    expect(l.reachable).toBe(false);
    expect(reach).toEqual([false]);
    l.start();
    await symlink(swtpm.dataPath!, path); // the TPM appears (e.g. the driver loaded late)
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (l.reachable) {
          clearInterval(timer);
          resolve();
        }
      }, 20);
    });
    expect(reach).toEqual([false, true]);
    expect(await l.use(async ({ counters }) => counters.resetCount)).toBeGreaterThan(0);
    await l.stop();
  });
});

describe('transient objects left behind', () => {
  it('flushes them when the TPM is full, so the keys load', async () => {
    const t = swtpm.connect();
    try {
      // A process killed with its keys loaded leaves them in a TPM without a resource manager.
      const left: Ek[] = [];
      for (;;) {
        try {
          left.push(await createEk(t, 'rsa'));
        } catch (err) {
          expect(isObjectMemoryFull(err)).toBe(true);
          expect(isObjectMemoryFull(new Error('wrapped', { cause: err }))).toBe(true);
          break;
        }
        if (left.length > 64) throw new Error('the TPM never filled up');
      }
      const ek = await loadWithRoom(t, () => createEk(t, 'rsa'), log);
      expect(ek.name.length).toBeGreaterThan(0);
      await flushKey(t, ek);
      expect(await flushTransientObjects(t)).toBe(0);
      await expect(loadWithRoom(t, async () => Promise.reject(new Error('other')), log)).rejects.toThrow('other');
    } finally {
      await t.close();
    }
  });
});
