import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { makeTempDir } from '../../test/harness/pki.js';
import { createLogger } from '../src/log.js';
import { ConfigError, defaultServerConfig, loadServerConfig, renderConfigYaml, serverConfigLeaves, validateServerConfig } from '../src/config/index.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let n = 0;
async function configFile(text: string): Promise<string> {
  const path = join(tmp.path, `config-${n++}.yaml`);
  await writeFile(path, text);
  return path;
}

beforeAll(async () => {
  tmp = await makeTempDir('vigil-config-');
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('server configuration', () => {
  it('a missing file means the documented defaults', async () => {
    const config = await loadServerConfig({ configPath: join(tmp.path, 'absent.yaml'), env: {} });
    expect(config.listen).toEqual({ host: '::', port: 8883 });
    expect(config.tls.minVersion).toBe('TLSv1.3');
    expect(config.pki.deviceCertificateValidityHours).toBe(24);
    expect(config.limits.maxPacketBytes).toBe(9 * 1024 * 1024);
    expect(config.log.level).toBe('info');
  });

  it('file < VIGIL_* environment < command-line flag', async () => {
    const path = await configFile('listen:\n  port: 1111\n  host: 10.0.0.1\nlimits:\n  publishBurst: 7\n');
    const fileOnly = await loadServerConfig({ configPath: path, env: {} });
    expect(fileOnly.listen).toEqual({ host: '10.0.0.1', port: 1111 });
    expect(fileOnly.limits.publishBurst).toBe(7);
    expect(fileOnly.limits.publishRatePerSecond).toBe(20); // sibling default kept

    const env = { VIGIL_LISTEN_PORT: '2222', VIGIL_PKI_SERVER_SANS: 'a.example, 10.1.1.1', VIGIL_TLS_MIN_VERSION: 'TLSv1.2', VIGIL_DATA: '/ignored' };
    const withEnv = await loadServerConfig({ configPath: path, env });
    expect(withEnv.listen.port).toBe(2222);
    expect(withEnv.pki.serverSans).toEqual(['a.example', '10.1.1.1']);
    expect(withEnv.tls.minVersion).toBe('TLSv1.2');

    const withFlag = await loadServerConfig({ configPath: path, env, overrides: [{ path: 'listen.port', value: 0, flag: '--port' }] });
    expect(withFlag.listen.port).toBe(0);
    expect(withFlag.listen.host).toBe('10.0.0.1');
  });

  it('names the bad key and its source', async () => {
    const cases: Array<[() => Promise<unknown>, string, string]> = [
      [async () => loadServerConfig({ configPath: await configFile('listen:\n  port: 70000\n'), env: {} }), 'listen.port', 'config-'],
      [async () => loadServerConfig({ configPath: await configFile('log:\n  level: loud\n'), env: {} }), 'log.level', 'config-'],
      [async () => loadServerConfig({ configPath: await configFile('listen:\n  prot: 1\n'), env: {} }), 'listen.prot', 'config-'],
      [async () => loadServerConfig({ configPath: await configFile(''), env: { VIGIL_LIMITS_PUBLISH_BURST: 'lots' } }), 'limits.publishBurst', 'VIGIL_LIMITS_PUBLISH_BURST'],
      [async () => loadServerConfig({ configPath: await configFile(''), env: {}, overrides: [{ path: 'listen.host', value: '', flag: '--host' }] }), 'listen.host', '--host'],
    ];
    for (const [load, path, source] of cases) {
      const err = await load().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).path).toBe(path);
      expect((err as ConfigError).source).toContain(source);
      expect((err as ConfigError).message).toContain(path);
    }
  });

  it('answers any file content with a config or a ConfigError, never another exception', async () => {
    const path = join(tmp.path, 'fuzz.yaml');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.jsonValue({ maxDepth: 4 }).map((v) => YAML.stringify(v)),
          fc.record({ listen: fc.record({ port: fc.oneof(fc.integer(), fc.string()), host: fc.string() }) }).map((v) => YAML.stringify(v)),
        ),
        async (text) => {
          await writeFile(path, text);
          try {
            const config = await loadServerConfig({ configPath: path, env: {} });
            expect(config.listen.port).toBeGreaterThanOrEqual(0);
          } catch (err) {
            expect(err).toBeInstanceOf(ConfigError);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('renders every key with its description and env name, and the rendering loads back to the same config', async () => {
    const config = { ...defaultServerConfig(), listen: { host: '127.0.0.1', port: 9000 } };
    const text = renderConfigYaml(config);
    for (const leaf of serverConfigLeaves()) {
      const key = leaf.path.at(-1)!;
      expect(text).toMatch(new RegExp(`# env: ${leaf.envName}\\n\\s*${key}:`));
    }
    const path = await configFile(text);
    expect(await loadServerConfig({ configPath: path, env: {} })).toEqual(config);
    expect(validateServerConfig(config, 'test')).toEqual(config);
  });
});

describe('logger', () => {
  it('writes JSON lines and redacts secret-looking fields up to two levels deep', () => {
    const lines: Array<Record<string, unknown>> = [];
    const log = createLogger({ level: 'info', destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) } });
    log.info({ token: 'vgl_abc', deviceId: 'cam-1', tls: { privateKey: 'PEM', cert: 'public' }, a: { b: { secret: 's3' } } }, 'hello');
    log.debug({ token: 'x' }, 'below level');
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line.msg).toBe('hello');
    expect(line.deviceId).toBe('cam-1');
    expect(line.token).toBe('[redacted]');
    expect(line.tls).toEqual({ privateKey: '[redacted]', cert: 'public' });
    expect(line.a).toEqual({ b: { secret: '[redacted]' } });
    expect(JSON.stringify(line)).not.toMatch(/vgl_abc|PEM|s3/);
  });
});
