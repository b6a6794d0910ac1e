import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Compile } from 'typebox/compile';
import { writeFileAtomic } from './atomic-write.js';
import { AgentStatus } from './status-schema.js';

/** The status file's name inside the state directory. */
export const STATUS_FILE = 'status.json';
/** A status file is about 1 KiB; a bigger one is not ours. */
const MAX_STATUS_BYTES = 64 * 1024;

const validator = Compile(AgentStatus);

export class StatusFileError extends Error {
  constructor(
    readonly path: string,
    readonly code: 'missing' | 'unreadable' | 'invalid',
    detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'StatusFileError';
  }
}

export function statusFilePath(stateDir: string): string {
  return join(stateDir, STATUS_FILE);
}

/** Replaces the status file atomically (`vigil-agent status` never reads half a file). Mode 0640: nothing in it is secret. */
export async function writeStatusFile(stateDir: string, status: AgentStatus): Promise<void> {
  await writeFileAtomic(statusFilePath(stateDir), JSON.stringify(status, null, 2) + '\n', 0o640);
}

/** Reads and validates the status file. @throws StatusFileError */
export async function readStatusFile(stateDir: string): Promise<AgentStatus> {
  const path = statusFilePath(stateDir);
  let text: string;
  try {
    const handle = await open(path, 'r');
    try {
      const buf = Buffer.alloc(MAX_STATUS_BYTES + 1);
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      if (bytesRead > MAX_STATUS_BYTES) throw new StatusFileError(path, 'invalid', `larger than ${MAX_STATUS_BYTES} bytes: not a status file`);
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof StatusFileError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new StatusFileError(path, 'missing', 'no status file: the agent has not run with this state directory');
    throw new StatusFileError(path, 'unreadable', (err as Error).message);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new StatusFileError(path, 'invalid', `not JSON: ${(err as Error).message}`);
  }
  if (!validator.Check(value)) {
    const first = validator.Errors(value)[0];
    throw new StatusFileError(path, 'invalid', `not a valid status file${first ? ` at ${first.instancePath || '/'}: ${first.message}` : ''}`);
  }
  return value;
}
