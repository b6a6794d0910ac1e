import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';

/** What a result was measured on, stored with every result file. */
export interface MachineFacts {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly node: string;
  readonly platform: string;
  readonly kernel: string;
  readonly date: string;
  /** 1, 5 and 15 minute load averages when the benchmark started: other work on the machine skews figures. */
  readonly loadAverage: readonly number[];
}

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
  };
}
