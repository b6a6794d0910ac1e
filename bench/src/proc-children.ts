import { readFileSync } from 'node:fs';

/**
 * The pids of a process's children, from /proc/<pid>/task/<pid>/children
 * (proc(5); the main thread's children, which for a Node program are the
 * processes it spawned). Empty when the process is gone or there is no /proc.
 */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
