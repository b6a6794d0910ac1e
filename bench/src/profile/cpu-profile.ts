/**
 * Profiles a stretch of a benchmark in this process with V8's sampling
 * profiler (the inspector protocol, as `node --cpu-prof` does for a whole
 * run) when VIGIL_BENCH_PROFILE names a directory: the `.cpuprofile` it
 * writes opens in Chrome DevTools or speedscope. Off otherwise.
 */
import { Session } from 'node:inspector/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export async function profiled<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const dir = process.env['VIGIL_BENCH_PROFILE'];
  if (dir === undefined || dir === '') return fn();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  try {
    return await fn();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${label}-${process.pid}-${Date.now()}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    process.stdout.write(`  CPU profile of ${label}: ${file}\n`);
    session.disconnect();
  }
}
