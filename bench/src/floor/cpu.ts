/**
 * What a child of the floor reports about itself: CPU time of the whole
 * process (every thread, so the server's verifications on libuv's pool
 * count) and of its main thread — the event loop, the part that cannot use
 * a second core — and its RSS.
 */
import { mainThreadCpuMs } from '../thread-cpu.js';
import type { ProcessCpu } from './messages.js';

export function processCpu(): ProcessCpu {
  const cpu = process.cpuUsage();
  return { cpuMs: (cpu.user + cpu.system) / 1000, mainThreadCpuMs: mainThreadCpuMs(), rssBytes: process.memoryUsage.rss() };
}
