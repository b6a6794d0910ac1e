import { describe, expect, it } from 'vitest';
import { createLogger, LOG_LEVELS, type LoggerOptions } from '../src/log.js';

function capture(options: Omit<LoggerOptions, 'destination'> = {}): { lines: Record<string, unknown>[]; raw: string[]; log: ReturnType<typeof createLogger> } {
  const raw: string[] = [];
  const log = createLogger({ ...options, destination: { write: (s: string) => void raw.push(s) } });
  return {
    raw,
    log,
    get lines() {
      return raw.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
  };
}

// The names a careless call is most likely to use for a secret.
const SECRETS = ['key', 'keyPem', 'privateKey', 'privateKeyPem', 'secret', 'secrets', 'token', 'password', 'passphrase', 'authorization', 'credential', 'credentials', 'activatedSecret'];

describe('createLogger', () => {
  it('redacts every secret field name at the top level and up to two objects deep', () => {
    const c = capture();
    for (const name of SECRETS) {
      const value = `s3cr3t-${name}-${'z'.repeat(20)}`;
      c.log.info({ [name]: value, a: { [name]: value, keep: 1 }, b: { c: { [name]: value } } }, name);
      const last = c.raw.at(-1)!;
      expect(last, name).not.toContain(value);
      expect(JSON.parse(last), name).toMatchObject({ [name]: '[redacted]', a: { [name]: '[redacted]', keep: 1 }, b: { c: { [name]: '[redacted]' } } });
    }
  });

  it('writes JSON lines with level, ISO time, pid, the bindings and the message', () => {
    const c = capture({ bindings: { component: 'broker' } });
    c.log.warn({ deviceId: 'cam-1' }, 'hello');
    expect(c.raw[0]!.endsWith('\n')).toBe(true);
    const line = c.lines[0]!;
    expect(line).toMatchObject({ level: 40, pid: process.pid, component: 'broker', deviceId: 'cam-1', msg: 'hello' });
    expect(new Date(line['time'] as string).toISOString()).toBe(line['time']);
  });

  it('drops lines below its level; silent drops them all', () => {
    for (const level of LOG_LEVELS) {
      const c = capture({ level });
      for (const l of ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const) c.log[l](l);
      const written = c.lines.map((x) => x['msg']);
      const rank = LOG_LEVELS.indexOf(level);
      expect(written, level).toEqual(LOG_LEVELS.slice(0, level === 'silent' ? 0 : rank + 1));
    }
  });
});
