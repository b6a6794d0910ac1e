import type { Command } from 'commander';
import { register as init } from './init.js';
import { register as start } from './start.js';
import { register as operations } from '../../admin/cli/register.js';
import { register as admin } from './admin.js';
import { register as verify } from './verify.js';
import { register as devices } from './devices.js';
import { register as policy } from './policy.js';
import { register as models } from './models.js';
import { register as demo } from './demo.js';
import { register as broker } from '../../broker-external/cli.js';

/**
 * Every `vigil-server` subcommand lives in its own file in this folder and
 * exports `register(program)`. Add new commands to this list. Admin
 * commands are not listed here: each admin operation declared in
 * `../../admin/operations/registry.ts` becomes a command (`operations`,
 * first, so that hand-written commands see the groups it made).
 */
export const commands: ReadonlyArray<(program: Command) => void> = [init, start, operations, admin, verify, devices, policy, models, demo, broker];
