import { open } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import YAML from 'yaml';
import { parseTpmUri, TpmUriError } from '@vigil/tpm2-ts';
import { ConfigError } from './errors.js';
import { configLeaves, ENV_PREFIX, fromString, type ConfigLeaf } from './leaves.js';
import { parseServerUrl } from './server-url.js';
import { AgentConfigSchema, schemaNode, type AgentConfig, type SchemaNode } from './schema.js';

/** Where `vigil-agent run` looks for its configuration when neither `--config` nor `VIGIL_AGENT_CONFIG` names one. */
export const DEFAULT_CONFIG_PATH = '/etc/vigil/agent.yaml';
/** A configuration file is a few KiB; refusing more keeps a wrong path (a model file) from being read into memory. */
const MAX_CONFIG_BYTES = 1024 * 1024;

const validator = Compile(AgentConfigSchema);
const leafByKey = new Map(configLeaves.map((l) => [l.key, l]));

export interface LoadAgentConfigOptions {
  /** The configuration file; undefined means {@link DEFAULT_CONFIG_PATH}, which may be absent. */
  readonly configPath?: string;
  /** Default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Command-line values by dotted key (`watch.debounceMs`): strings as typed
   * (converted like environment strings), string arrays for list keys.
   */
  readonly flags?: ReadonlyMap<string, string | boolean | readonly string[]>;
  /** Relative paths from flags and the environment are resolved against this (default: process.cwd()). */
  readonly cwd?: string;
}

export interface LoadedAgentConfig {
  readonly config: AgentConfig;
  /** The file read, if any. */
  readonly file: string | undefined;
  /** Where each key that was set came from: the file name, the variable or the flag. */
  readonly sources: ReadonlyMap<string, string>;
  /** Things worth a log line that do not stop the agent (a token in a file others can read). */
  readonly warnings: readonly string[];
}

type Tree = Record<string, unknown>;
const isTree = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

function setPath(tree: Tree, path: readonly string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    if (!isTree(node[key])) node[key] = {};
    node = node[key] as Tree;
  }
  node[path[path.length - 1]!] = value;
}

function getPath(tree: Tree, path: readonly string[]): unknown {
  let node: unknown = tree;
  for (const key of path) node = isTree(node) ? node[key] : undefined;
  return node;
}

/**
 * Loads the agent configuration: defaults < the YAML file < `VIGIL_AGENT_*`
 * environment variables < command-line flags, validated as a whole against
 * {@link AgentConfigSchema}. Relative paths in the file are resolved against
 * the file's folder, others against `cwd`.
 *
 * @throws ConfigError naming the first bad or missing key and its source
 */
export async function loadAgentConfig(options: LoadAgentConfigOptions = {}): Promise<LoadedAgentConfig> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicitPath = options.configPath ?? env[`${ENV_PREFIX}CONFIG`];
  const configPath = explicitPath !== undefined ? resolve(cwd, explicitPath) : DEFAULT_CONFIG_PATH;
  const warnings: string[] = [];
  const sources = new Map<string, string>();

  const read = await readConfigFile(configPath, explicitPath !== undefined);
  const tree: Tree = read?.tree ?? {};
  if (read) {
    for (const leaf of configLeaves) if (getPath(tree, leaf.path) !== undefined) sources.set(leaf.key, configPath);
    if (getPath(tree, ['token']) !== undefined && (read.mode & 0o077) !== 0) {
      warnings.push(`${configPath} holds the enrollment token but is readable by others (mode ${(read.mode & 0o777).toString(8)}): chmod 600 it or use VIGIL_AGENT_TOKEN`);
    }
  }
  for (const leaf of configLeaves) {
    const text = env[leaf.envName];
    if (text === undefined) continue;
    setPath(tree, leaf.path, fromString(leaf.node, text));
    sources.set(leaf.key, leaf.envName);
  }
  for (const [key, value] of options.flags ?? []) {
    const leaf = leafByKey.get(key);
    if (leaf === undefined) throw new ConfigError(key, 'command line', 'unknown key');
    setPath(tree, leaf.path, typeof value === 'string' ? fromString(leaf.node, value) : value);
    sources.set(key, `--${leaf.flag}`);
  }

  const withDefaults = Value.Default(AgentConfigSchema, tree);
  if (!validator.Check(withDefaults)) throw firstError(withDefaults, sources, configPath);
  const config = withDefaults;

  try {
    parseTpmUri(config.tpm);
  } catch (err) {
    if (err instanceof TpmUriError) throw new ConfigError('tpm', sources.get('tpm') ?? 'default', err.message);
    throw err;
  }
  if (parseServerUrl(config.server) === undefined) throw new ConfigError('server', sources.get('server') ?? configPath, 'the port must be 1 to 65535');
  resolvePaths(config, sources, read ? configPath : undefined, cwd);
  return { config, file: read ? configPath : undefined, sources, warnings };
}

async function readConfigFile(path: string, explicit: boolean): Promise<{ tree: Tree; mode: number } | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return undefined;
    throw new ConfigError('', path, code === 'ENOENT' ? 'file not found' : `cannot read: ${(err as Error).message}`);
  }
  let text: string;
  let mode: number;
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new ConfigError('', path, 'not a regular file');
    if (st.size > MAX_CONFIG_BYTES) throw new ConfigError('', path, `${st.size} bytes; a configuration file is at most ${MAX_CONFIG_BYTES}`);
    mode = st.mode;
    const buf = Buffer.alloc(Math.min(st.size + 1, MAX_CONFIG_BYTES + 1));
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    if (bytesRead > MAX_CONFIG_BYTES) throw new ConfigError('', path, `more than ${MAX_CONFIG_BYTES} bytes`);
    text = buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
  let parsed: unknown;
  try {
    // Bounded aliases (no billion laughs); warnings (unknown tags) are not printed: the schema judges the values.
    parsed = YAML.parse(text, { maxAliasCount: 10, logLevel: 'error' });
  } catch (err) {
    throw new ConfigError('', path, `not valid YAML: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return { tree: {}, mode };
  if (!isTree(parsed)) throw new ConfigError('', path, 'the file must be a YAML mapping');
  return { tree: parsed, mode };
}

function firstError(value: unknown, sources: ReadonlyMap<string, string>, configPath: string): ConfigError {
  const errors = validator.Errors(value);
  const first = errors[0];
  if (first === undefined) return new ConfigError('', configPath, 'invalid');
  let key = first.instancePath.split('/').filter(Boolean).join('.');
  let detail = first.message;
  const params = first.params as { requiredProperties?: string[]; additionalProperties?: string[] } | undefined;
  if (first.keyword === 'required' && params?.requiredProperties?.[0] !== undefined) {
    key = key ? `${key}.${params.requiredProperties[0]}` : params.requiredProperties[0];
    const leaf = leafByKey.get(key);
    return new ConfigError(key, 'missing', leaf ? `required: set ${key} in the config file, ${leaf.envName} or --${leaf.flag}` : 'required');
  }
  if (first.keyword === 'additionalProperties' || (first.keyword === 'boolean' && first.schemaPath.endsWith('additionalProperties'))) {
    const extra = params?.additionalProperties?.[0];
    if (extra !== undefined) key = key ? `${key}.${extra}` : extra;
    detail = 'unknown key';
  } else {
    // Array items report `models.0`; the source is the list's.
    const listKey = key.replace(/\.\d+$/, '');
    const allowed = allowedValues(listKey);
    if (allowed !== undefined) detail = `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
    const given = getPath(value as Tree, key.split('.'));
    if (key === 'server' && typeof given === 'string') {
      detail = /^mqtt:\/\//i.test(given)
        ? 'plaintext mqtt:// is refused: the agent talks to the server over mutual TLS only (mqtts://HOST:PORT)'
        : 'expected mqtts://HOST or mqtts://HOST:PORT';
    }
    return new ConfigError(key, sources.get(listKey) ?? sources.get(key) ?? configPath, detail);
  }
  return new ConfigError(key, sources.get(key) ?? configPath, detail);
}

function allowedValues(key: string): unknown[] | undefined {
  let node: SchemaNode | undefined = schemaNode(AgentConfigSchema);
  for (const part of key.split('.')) node = node?.properties?.[part];
  if (node?.enum !== undefined) return [...node.enum];
  const options = node?.anyOf;
  return options?.every((o) => o.const !== undefined) ? options.map((o) => o.const) : undefined;
}

/** Makes every path absolute: file values relative to the file's folder, flag and environment values relative to `cwd`. */
function resolvePaths(config: AgentConfig, sources: ReadonlyMap<string, string>, file: string | undefined, cwd: string): void {
  const base = (leaf: ConfigLeaf): string => (file !== undefined && sources.get(leaf.key) === file ? dirname(file) : cwd);
  const tree = config as unknown as Tree;
  for (const leaf of configLeaves) {
    if (leaf.node.pathLike !== true) continue;
    const value = getPath(tree, leaf.path);
    const abs = (p: string): string => (isAbsolute(p) ? p : resolve(base(leaf), p));
    if (typeof value === 'string') setPath(tree, leaf.path, abs(value));
    else if (Array.isArray(value)) setPath(tree, leaf.path, value.map((p: string) => abs(p)));
  }
}

/** The configuration with every default and the given required values: for tests and the example file. */
export function defaultAgentConfig(required: { server: string; ca: string }): AgentConfig {
  return Value.Default(AgentConfigSchema, { ...required }) as AgentConfig;
}
