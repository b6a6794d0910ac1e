import type { Command } from 'commander';
import { demoCommand } from '../../demo/command.js';

/** `vigil-server demo`: the whole product on this machine (see server/src/demo/README.md). */
export function register(program: Command): void {
  demoCommand(program.command('demo'));
}
