import { readFileSync } from 'node:fs';

/**
 * CPU time of this process's main thread, ms: the event loop, the part of a
 * Node program that cannot use a second core. From
 * /proc/self/task/<pid>/stat, utime and stime (fields 14 and 15, proc(5)),
 * in clock ticks of 10 ms. NaN where there is no /proc.
 */
export function mainThreadCpuMs(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // After the command name, which is in parentheses and may hold spaces: field 3 onwards.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

/** This process's CPU time (user + system, every thread: libuv's pool included), of its main thread alone, ms, and its RSS. */
export interface ProcessCpu {
  readonly cpuMs: number;
  readonly mainThreadCpuMs: number;
  readonly rssBytes: number;
}

export function processCpu(): ProcessCpu {
  const cpu = process.cpuUsage();
  return { cpuMs: (cpu.user + cpu.system) / 1000, mainThreadCpuMs: mainThreadCpuMs(), rssBytes: process.memoryUsage.rss() };
}
