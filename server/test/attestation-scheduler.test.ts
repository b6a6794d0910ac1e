/**
 * AttestationScheduler (server/src/verifier/challenges/scheduler.ts) as pure
 * logic under fake timers: every device is handed out once per interval,
 * its timer ticks no closer together than the tick spacing (so devices due
 * close together are handed out together), and a lone device is not made
 * to wait for a tick.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AttestationScheduler, tickFor, type SchedulerOptions } from '../src/verifier/challenges/scheduler.js';

/** A started scheduler that records, per device, the times it was handed out, and the distinct times its timer fired. */
function recorder(options: SchedulerOptions): { scheduler: AttestationScheduler; handed: Map<string, number[]>; ticks: number[] } {
  const handed = new Map<string, number[]>();
  const ticks: number[] = [];
  const scheduler = new AttestationScheduler(options, (id) => {
    const now = Date.now();
    if (ticks.at(-1) !== now) ticks.push(now);
    const times = handed.get(id) ?? [];
    times.push(now);
    handed.set(id, times);
  });
  scheduler.start();
  return { scheduler, handed, ticks };
}

function gaps(times: readonly number[]): number[] {
  return times.slice(1).map((t, i) => t - times[i]!);
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('tickFor', () => {
  it('is 50 ms, or a twentieth of a shorter interval', () => {
    expect(tickFor(60_000)).toBe(50);
    expect(tickFor(1_000)).toBe(50);
    expect(tickFor(200)).toBe(10);
    expect(tickFor(50)).toBe(2.5);
  });
});

describe('AttestationScheduler', () => {
  it('a dense fleet: ticks at least the spacing apart, each device every interval and at most one tick late', async () => {
    const r = recorder({ intervalMs: 1_000, jitter: 0 });
    for (let i = 0; i < 1_000; i++) r.scheduler.add(`d${i}`);
    await vi.advanceTimersByTimeAsync(10_000);
    r.scheduler.stop();

    expect(r.handed.size).toBe(1_000);
    for (const [, times] of r.handed) {
      expect(times.length).toBeGreaterThanOrEqual(9);
      expect(times.length).toBeLessThanOrEqual(10);
      for (const g of gaps(times)) {
        expect(g).toBeGreaterThanOrEqual(1_000);
        expect(g).toBeLessThanOrEqual(1_050);
      }
    }
    // 1,000 devices a second at their own phases: ~20 ticks a second, ~50 devices each.
    expect(Math.min(...gaps(r.ticks))).toBeGreaterThanOrEqual(50);
    expect(r.ticks.length).toBeLessThanOrEqual(201);
  });

  it('with no spacing the same fleet is handed out a device or two at a time (what the spacing changes)', async () => {
    const r = recorder({ intervalMs: 1_000, jitter: 0, tickMs: 0 });
    for (let i = 0; i < 1_000; i++) r.scheduler.add(`d${i}`);
    await vi.advanceTimersByTimeAsync(10_000);
    r.scheduler.stop();
    expect(r.ticks.length).toBeGreaterThan(1_000);
    expect(Math.min(...gaps(r.ticks))).toBeLessThan(50);
  });

  it('a lone device falls due on time: the spacing only delays ticks that come close together', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.25);
    const start = Date.now();
    const r = recorder({ intervalMs: 60_000, jitter: 0 });
    r.scheduler.add('lone');
    await vi.advanceTimersByTimeAsync(200_000);
    r.scheduler.stop();
    expect(r.handed.get('lone')).toEqual([start + 15_000, start + 75_000, start + 135_000, start + 195_000]);
  });

  it('devices falling due within the spacing after a tick are handed out together at the next one, none before it is due', async () => {
    // A 2^16 ms interval, so that these phases give exact due times: 32,768, 32,784 and 32,808 ms.
    const phases = [32_768, 32_784, 32_808].map((ms) => ms / 65_536);
    vi.spyOn(Math, 'random').mockImplementation(() => phases.shift() ?? 0.5);
    const start = Date.now();
    const r = recorder({ intervalMs: 65_536, jitter: 0, tickMs: 50 });
    for (const id of ['a', 'b', 'c']) r.scheduler.add(id);
    await vi.advanceTimersByTimeAsync(33_000);
    r.scheduler.stop();
    expect(r.handed.get('a')).toEqual([start + 32_768]);
    expect(r.handed.get('b')).toEqual([start + 32_818]);
    expect(r.handed.get('c')).toEqual([start + 32_818]);
  });

  it('removed devices are not handed out; rescheduling supersedes the earlier due time', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const start = Date.now();
    const r = recorder({ intervalMs: 10_000, jitter: 0 });
    r.scheduler.add('gone');
    r.scheduler.add('moved');
    r.scheduler.remove('gone');
    await vi.advanceTimersByTimeAsync(1_000);
    r.scheduler.reschedule('moved'); // due 11 s, no longer 5 s
    await vi.advanceTimersByTimeAsync(11_000);
    r.scheduler.stop();
    expect(r.handed.has('gone')).toBe(false);
    expect(r.handed.get('moved')).toEqual([start + 11_000]);
  });
});
