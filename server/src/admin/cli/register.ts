import type { Command } from 'commander';
import { operations } from '../operations/registry.js';
import { mountOperationCommands } from './mount.js';

/** `vigil-server <command>` for every registered admin operation (see ../README.md). */
export function register(program: Command): void {
  mountOperationCommands(program, operations);
}
