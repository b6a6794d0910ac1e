import type { Command } from 'commander';
import { register as init } from './init.js';
import { register as start } from './start.js';
import { register as token } from './token.js';
import { register as audit } from './audit.js';
import { register as verify } from './verify.js';

/**
 * Every `vigil-server` subcommand lives in its own file in this folder and
 * exports `register(program)`. Add new commands to this list.
 */
export const commands: ReadonlyArray<(program: Command) => void> = [init, start, token, audit, verify];
