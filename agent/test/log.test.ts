import { describe, expect, it } from 'vitest';
import { createAgentLogger } from '../src/log.js';

describe('agent logger', () => {
  it('writes JSON lines and redacts secrets wherever a careless call puts them', () => {
    const lines: string[] = [];
    const log = createAgentLogger({ level: 'info', destination: { write: (s: string) => void lines.push(s) } });
    const token = `vgl_${'s'.repeat(43)}`;
    log.info({ token, identity: { privateKeyPem: '-----BEGIN PRIVATE KEY-----', deviceId: 'cam-1' }, deep: { a: { secret: 'x' } } }, 'hello');
    log.debug({ token }, 'below the level');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, msg: 'hello', component: 'vigil-agent', token: '[redacted]', identity: { privateKeyPem: '[redacted]', deviceId: 'cam-1' }, deep: { a: { secret: '[redacted]' } } });
    expect(lines[0]).not.toContain(token);
    expect(typeof line['time']).toBe('string');
  });
});
