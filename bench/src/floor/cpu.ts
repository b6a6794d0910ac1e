/**
 * What a child of the floor reports about itself: CPU time of the whole
 * process (every thread, so the server's verifications on libuv's pool
 * count) and of its main thread — the event loop, the part that cannot use
 * a second core — and its RSS.
 */
import { readFileSync } from 'node:fs';
import type { ProcessCpu } from './messages.js';

/**
 * CPU time of this process's main thread, ms, from /proc/self/task/<pid>/stat:
 * utime and stime, fields 14 and 15 (proc(5)), in clock ticks of 10 ms.
 * NaN where there is no /proc.
 */
function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // After the command name, which is in parentheses and may hold spaces: field 3 onwards.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

export function processCpu(): ProcessCpu {
  const cpu = process.cpuUsage();
  return { cpuMs: (cpu.user + cpu.system) / 1000, mainThreadCpuMs: mainThreadCpuMs(), rssBytes: process.memoryUsage.rss() };
}
