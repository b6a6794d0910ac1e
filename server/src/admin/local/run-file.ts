import { mkdir, readFile, rm } from 'node:fs/promises';
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { writeFileAtomic } from '../../pki/secret-file.js';
import type { AdminPaths } from './paths.js';

/**
 * `DIR/run/admin.json`: written by the admin API once it listens, removed
 * when it stops. The CLI reads it to find the running server; a file left by
 * a killed server is recognised as stale (its pid is gone, or the endpoint
 * does not answer) and ignored.
 */
export const RunFile = Type.Object(
  {
    pid: Type.Integer({ minimum: 1 }),
    /** Address to connect to (a wildcard bind is reached on loopback). */
    host: Type.String({ minLength: 1, maxLength: 255 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    /** SHA-256 fingerprint (node's `fingerprint256`) of the admin API's TLS certificate: the CLI pins it. */
    certificateSha256: Type.String({ pattern: '^([0-9A-F]{2}:){31}[0-9A-F]{2}$' }),
    startedAt: Type.String({ maxLength: 32 }),
  },
  { additionalProperties: false },
);
export type RunFile = Static<typeof RunFile>;

const check = Compile(RunFile);

export async function writeRunFile(paths: AdminPaths, content: RunFile): Promise<void> {
  await mkdir(paths.runDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(paths.runFile, JSON.stringify(content) + '\n', 0o644);
}

/** Removes the run file if it is still this server's (a newer one may have replaced it). */
export async function removeRunFile(paths: AdminPaths, owner: Pick<RunFile, 'pid' | 'port'>): Promise<void> {
  const current = await readRunFile(paths);
  if (current?.pid === owner.pid && current.port === owner.port) await rm(paths.runFile, { force: true });
}

/** The run file, or undefined if there is none or it is not one (a stray or truncated file is as good as none). */
export async function readRunFile(paths: AdminPaths): Promise<RunFile | undefined> {
  let text: string;
  try {
    text = await readFile(paths.runFile, 'utf8');
  } catch {
    return undefined;
  }
  if (text.length > 4096) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return check.Check(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Is a process with this pid alive (EPERM: alive, owned by another user)? */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
