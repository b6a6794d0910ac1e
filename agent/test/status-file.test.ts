import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStatusFile, StatusFileError, statusFilePath, writeStatusFile } from '../src/daemon/status-file.js';
import type { AgentStatus } from '../src/daemon/status-schema.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-agent-status-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sample(now: number): AgentStatus {
  return {
    v: 1,
    pid: process.pid,
    agentVersion: '0.1.0',
    startedAt: now - 5000,
    updatedAt: now,
    server: 'mqtts://vigil.test:8883',
    enrollment: { enrolled: true, deviceId: 'ek-0123', certificateSerial: '0a1b', certificateNotAfter: now + 86_400_000 },
    connection: { state: 'connected', since: now - 1000, connects: 1 },
    tpm: { uri: 'swtpm:path=/x', reachable: true, checkedAt: now, resetCount: 2, restartCount: 0 },
    models: { pcr: 13, files: 3, pending: 0, measuredAt: now - 2000 },
    lastVerdict: { status: 'affirming', at: now - 100, challengeId: 'AAAAAAAAAAAAAAAAAAAAAA', reasons: [] },
  };
}

async function failure(p: Promise<unknown>): Promise<StatusFileError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(StatusFileError);
  return e as StatusFileError;
}

describe('status file', () => {
  it('round-trips, is replaced atomically and leaves no temp files', async () => {
    const first = sample(Date.now());
    await writeStatusFile(dir, first);
    expect(await readStatusFile(dir)).toEqual(first);
    const second = { ...first, connection: { state: 'disconnected' as const, since: first.updatedAt, connects: 1, nextAttemptAt: first.updatedAt + 2000 } };
    await writeStatusFile(dir, second);
    expect(await readStatusFile(dir)).toEqual(second);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect((await stat(statusFilePath(dir))).mode & 0o777).toBe(0o640);
  });

  it('gives a typed error for a missing, foreign, malformed or oversized file', async () => {
    const empty = await mkdtemp(join(dir, 'empty-'));
    expect((await failure(readStatusFile(empty))).code).toBe('missing');
    await writeFile(statusFilePath(empty), '{"v":1');
    expect((await failure(readStatusFile(empty))).code).toBe('invalid');
    await writeFile(statusFilePath(empty), JSON.stringify({ ...sample(10_000), connection: { state: 'dancing', since: 1, connects: 0 } }));
    const e = await failure(readStatusFile(empty));
    expect(e.message).toContain('/connection/state');
    await writeFile(statusFilePath(empty), ' '.repeat(70 * 1024));
    expect((await failure(readStatusFile(empty))).message).toContain('larger than');
  });
});
