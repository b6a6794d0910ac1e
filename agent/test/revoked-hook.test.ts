import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRevocationMarker, writeRevocationMarker, REVOCATION_MARKER_FILE } from '../src/daemon/revocation-marker.js';
import { runRevokedHook } from '../src/daemon/revoked-hook.js';

const log = pino({ level: 'silent' });
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-agent-hook-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('revoked hook', () => {
  it('runs the command with the device id and reason, without the enrollment token, and reports its exit', async () => {
    const out = join(dir, 'env.txt');
    process.env['VIGIL_AGENT_TOKEN'] = 'vgl_secret_should_not_leak';
    try {
      const r = await runRevokedHook(`printf '%s|%s|%s' "$VIGIL_DEVICE_ID" "$VIGIL_REVOCATION_REASON" "\${VIGIL_AGENT_TOKEN:-none}" > '${out}'; echo done`, {
        deviceId: 'cam-7',
        reason: 'contraindicated: model changed',
        timeoutMs: 10_000,
        log,
      });
      expect(r).toMatchObject({ exitCode: 0, timedOut: false, output: 'done' });
    } finally {
      delete process.env['VIGIL_AGENT_TOKEN'];
    }
    expect(await readFile(out, 'utf8')).toBe('cam-7|contraindicated: model changed|none');
  });

  it('reports a failing command and never throws', async () => {
    const r = await runRevokedHook('echo oops >&2; exit 3', { deviceId: 'd', reason: 'r', timeoutMs: 10_000, log });
    expect(r).toMatchObject({ exitCode: 3, timedOut: false, output: 'oops' });
    const missing = await runRevokedHook('/nonexistent/stop-models', { deviceId: 'd', reason: 'r', timeoutMs: 10_000, log });
    expect(missing.exitCode).toBe(127);
  });

  it('kills a hook that outlives its timeout, with what it started', async () => {
    const marker = join(dir, 'grandchild-survived');
    const r = await runRevokedHook(`(sleep 2; touch '${marker}') & sleep 30`, { deviceId: 'd', reason: 'r', timeoutMs: 200, log });
    expect(r.timedOut).toBe(true);
    expect(r.signal).toBe('SIGKILL');
    await new Promise((res) => setTimeout(res, 2500));
    await expect(readFile(marker)).rejects.toThrow(); // the whole process group went
  });

  it('bounds the output it keeps', async () => {
    const r = await runRevokedHook('head -c 100000 /dev/zero | tr "\\0" x', { deviceId: 'd', reason: 'r', timeoutMs: 10_000, log });
    expect(r.output.length).toBeLessThanOrEqual(1024);
  });
});

describe('revocation marker', () => {
  it('round-trips and ignores a file that is not one', async () => {
    expect(await readRevocationMarker(dir)).toBeUndefined();
    const marker = { v: 1 as const, deviceId: 'cam-7', certificateSerial: '0a1b', at: Date.now(), source: 'fleet-event' as const, reason: 'admin', hookRan: false };
    await writeRevocationMarker(dir, marker);
    expect(await readRevocationMarker(dir)).toEqual(marker);
    await writeFile(join(dir, REVOCATION_MARKER_FILE), '{"v":1,"deviceId":5}');
    expect(await readRevocationMarker(dir)).toBeUndefined();
    await writeFile(join(dir, REVOCATION_MARKER_FILE), 'not json');
    expect(await readRevocationMarker(dir)).toBeUndefined();
  });
});
