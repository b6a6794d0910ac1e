import type { Command } from 'commander';
import { register as enroll } from './enroll.js';
import { register as eventlog } from './eventlog.js';
import { register as measure } from './measure.js';
import { register as run } from './run.js';
import { register as status } from './status.js';
import { register as tpm } from './tpm.js';

/**
 * Every `vigil-agent` subcommand lives in its own file in this folder and
 * exports `register(program)`. Add new commands to this list.
 */
export const commands: ReadonlyArray<(program: Command) => void> = [enroll, run, status, tpm, eventlog, measure];
