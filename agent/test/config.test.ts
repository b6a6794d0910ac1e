import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { configLeaves, ConfigError, loadAgentConfig, renderAgentConfig } from '../src/config/index.js';

const TOKEN = `vgl_${'A'.repeat(43)}`;
let dir: string;
const base = { VIGIL_AGENT_SERVER: 'mqtts://vigil.test:8883', VIGIL_AGENT_CA: '/etc/vigil/ca.pem' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-agent-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, text: string): Promise<string> {
  const p = join(dir, name);
  await writeFile(p, text, { mode: 0o600 });
  return p;
}

async function refusal(p: Promise<unknown>): Promise<ConfigError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe('agent configuration', () => {
  it('layers defaults < file < environment < flags, and says where each value came from', async () => {
    const path = await file('layers.yaml', 'server: mqtts://from-file:1\nca: ca.pem\nmodelPcr: 12\nwatch: { debounceMs: 7, sweepSeconds: 9 }\n');
    const loaded = await loadAgentConfig({
      configPath: path,
      env: { VIGIL_AGENT_MODEL_PCR: '11', VIGIL_AGENT_WATCH_DEBOUNCE_MS: '8' },
      flags: new Map([['watch.debounceMs', '9']]),
      cwd: '/work',
    });
    const c = loaded.config;
    expect(c.server).toBe('mqtts://from-file:1');
    expect(c.ca).toBe(join(dir, 'ca.pem')); // relative to the file
    expect(c.modelPcr).toBe(11);
    expect(c.watch.debounceMs).toBe(9);
    expect(c.watch.sweepSeconds).toBe(9);
    expect(c.watch.maxDelayMs).toBe(500); // default
    expect(c.tpm).toBe('device:/dev/tpmrm0');
    expect(loaded.sources.get('server')).toBe(path);
    expect(loaded.sources.get('modelPcr')).toBe('VIGIL_AGENT_MODEL_PCR');
    expect(loaded.sources.get('watch.debounceMs')).toBe('--watch-debounce-ms');
  });

  it('takes lists from repeated flags or a comma-separated variable, paths relative to the working directory', async () => {
    const fromEnv = await loadAgentConfig({ configPath: join(dir, 'absent-but-default.yaml'), env: { ...base, VIGIL_AGENT_MODELS: 'a.onnx, /m/b' }, cwd: '/srv' }).catch((e: unknown) => e);
    // An explicitly named file that is missing is an error; the default path may be absent.
    expect(fromEnv).toBeInstanceOf(ConfigError);
    const ok = await loadAgentConfig({ env: { ...base, VIGIL_AGENT_CONFIG: undefined, VIGIL_AGENT_MODELS: 'a.onnx, /m/b' }, cwd: '/srv' });
    expect(ok.config.models).toEqual(['/srv/a.onnx', '/m/b']);
    const flags = await loadAgentConfig({ env: base, flags: new Map([['models', ['x', '/y']]]), cwd: '/srv' });
    expect(flags.config.models).toEqual(['/srv/x', '/y']);
  });

  it('names the key and the source of every bad value', async () => {
    const cases: Array<[Record<string, string>, string, string, RegExp]> = [
      [{ VIGIL_AGENT_SERVER: 'mqtt://plain:1883' }, 'server', 'VIGIL_AGENT_SERVER', /plaintext mqtt:\/\/ is refused/],
      [{ VIGIL_AGENT_SERVER: 'mqtts://h:70000' }, 'server', 'VIGIL_AGENT_SERVER', /port/],
      [{ VIGIL_AGENT_LOG_LEVEL: 'loud' }, 'log.level', 'VIGIL_AGENT_LOG_LEVEL', /must be one of "fatal"/],
      [{ VIGIL_AGENT_MODEL_PCR: '16' }, 'modelPcr', 'VIGIL_AGENT_MODEL_PCR', /<= 15/],
      [{ VIGIL_AGENT_WATCH_HASH_CONCURRENCY: 'many' }, 'watch.hashConcurrency', 'VIGIL_AGENT_WATCH_HASH_CONCURRENCY', /integer/],
      [{ VIGIL_AGENT_TPM: 'tpm0' }, 'tpm', 'VIGIL_AGENT_TPM', /bad TPM URI/],
      [{ VIGIL_AGENT_TOKEN: 'not-a-token' }, 'token', 'VIGIL_AGENT_TOKEN', /pattern/],
      [{ VIGIL_AGENT_AK_KIND: 'dsa' }, 'akKind', 'VIGIL_AGENT_AK_KIND', /"rsa", "ecc"/],
    ];
    for (const [env, key, source, detail] of cases) {
      const err = await refusal(loadAgentConfig({ env: { ...base, ...env } }));
      expect([err.key, err.source]).toEqual([key, source]);
      expect(err.message).toMatch(detail);
    }
    const flagErr = await refusal(loadAgentConfig({ env: base, flags: new Map([['reconnect.maxDelayMs', '5']]) }));
    expect([flagErr.key, flagErr.source]).toEqual(['reconnect.maxDelayMs', '--reconnect-max-delay-ms']);
  });

  it('never echoes a secret value in an error', async () => {
    const secretish = `vgl_${'s3cr3t'.repeat(5)}`;
    const err = await refusal(loadAgentConfig({ env: { ...base, VIGIL_AGENT_TOKEN: secretish } }));
    expect(err.message).not.toContain(secretish);
  });

  it('reports missing required keys with every way to set them', async () => {
    const err = await refusal(loadAgentConfig({ env: { VIGIL_AGENT_CA: '/ca.pem' } }));
    expect(err.key).toBe('server');
    expect(err.message).toContain('VIGIL_AGENT_SERVER');
    expect(err.message).toContain('--server');
  });

  it('refuses unknown keys, non-mappings, bad YAML and oversized files, naming the file', async () => {
    const unknown = await refusal(loadAgentConfig({ configPath: await file('u.yaml', 'server: mqtts://h\nca: c\nwatch: { debounce: 1 }\n'), env: {} }));
    expect([unknown.key, unknown.message]).toEqual(['watch.debounce', expect.stringContaining('unknown key')]);
    const list = await refusal(loadAgentConfig({ configPath: await file('l.yaml', '- a\n- b\n'), env: {} }));
    expect(list.message).toContain('mapping');
    const bad = await refusal(loadAgentConfig({ configPath: await file('b.yaml', 'server: [\n'), env: {} }));
    expect(bad.message).toContain('not valid YAML');
    const big = await refusal(loadAgentConfig({ configPath: await file('big.yaml', `# ${'x'.repeat(1024 * 1024 + 10)}\n`), env: {} }));
    expect(big.message).toMatch(/bytes/);
    const bomb = await refusal(
      loadAgentConfig({ configPath: await file('bomb.yaml', 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n'), env: {} }),
    );
    expect(bomb.source).toContain('bomb.yaml');
  });

  it('warns when a file holding the token is readable by others', async () => {
    const p = await file('token.yaml', `server: mqtts://h\nca: /c\ntoken: ${TOKEN}\n`);
    expect((await loadAgentConfig({ configPath: p, env: {} })).warnings).toEqual([]);
    await chmod(p, 0o644);
    const { warnings } = await loadAgentConfig({ configPath: p, env: {} });
    expect(warnings.join()).toMatch(/chmod 600/);
    expect(warnings.join()).not.toContain(TOKEN);
  });

  it('fails with a ConfigError, never anything else, whatever the file holds', async () => {
    const p = join(dir, 'fuzz.yaml');
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.jsonValue().map((v) => YAML.stringify(v))), async (text) => {
        await writeFile(p, text);
        const r = await loadAgentConfig({ configPath: p, env: base }).catch((e: unknown) => e);
        if (r instanceof Error) expect(r).toBeInstanceOf(ConfigError);
      }),
      { numRuns: 150 },
    );
  });

  it('gives every key a description, a flag and a VIGIL_AGENT_ variable, all distinct', () => {
    for (const leaf of configLeaves) {
      expect(leaf.node.description, leaf.key).toBeTruthy();
      expect(leaf.envName).toMatch(/^VIGIL_AGENT_[A-Z0-9_]+$/);
    }
    expect(new Set(configLeaves.map((l) => l.flag)).size).toBe(configLeaves.length);
    expect(new Set(configLeaves.map((l) => l.envName)).size).toBe(configLeaves.length);
  });

  it('ships agent/packaging/agent.yaml as generated from the schema, documenting every key, and it loads', async () => {
    const shipped = await readFile(new URL('../packaging/agent.yaml', import.meta.url), 'utf8');
    expect(shipped).toBe(renderAgentConfig());
    for (const leaf of configLeaves) {
      expect(shipped, leaf.key).toContain(`env: ${leaf.envName}`);
      expect(shipped, leaf.key).toContain(`--${leaf.flag}`);
    }
    const { config } = await loadAgentConfig({ configPath: join(new URL('../packaging/', import.meta.url).pathname, 'agent.yaml'), env: {} });
    expect(config.server).toMatch(/^mqtts:\/\//);
    expect(config.models.length).toBeGreaterThan(0);
  });

  it('prints an effective configuration with the token redacted', async () => {
    const { config } = await loadAgentConfig({ env: { ...base, VIGIL_AGENT_TOKEN: TOKEN } });
    const text = renderAgentConfig(config);
    expect(text).not.toContain(TOKEN);
    expect(text).toContain('token: "[redacted]"');
    expect(text).toContain('server: mqtts://vigil.test:8883');
  });
});
