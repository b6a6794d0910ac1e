import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';
import { loadNiceFromEnvironment } from './fleet/niceness.js';
import type { MachineFacts } from './record.js';

export type { MachineFacts };

/** The facts of this machine now (the shape is `MachineFactsSchema`). */
export function machineFacts(): MachineFacts {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    kernel: release(),
    date: new Date().toISOString(),
    loadAverage: loadavg().map((x) => Math.round(x * 100) / 100),
    nodeFlags: [...process.execArgv],
    threadPoolSize: process.env['UV_THREADPOOL_SIZE'] ?? 'default (4)',
    loadNice: loadNiceFromEnvironment(),
  };
}
