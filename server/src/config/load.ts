import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';
import YAML from 'yaml';
import { configLeaves, fromEnvString } from './env.js';
import { ConfigError } from './errors.js';
import { schemaNode, ServerConfigSchema, type SchemaNode, type ServerConfig } from './schema.js';

const validator = Compile(ServerConfigSchema);
const leaves = configLeaves(schemaNode(ServerConfigSchema));

/** A value given on the command line, e.g. `{ path: 'listen.port', value: 0, flag: '--port' }`. */
export interface ConfigOverride {
  readonly path: string;
  readonly value: unknown;
  readonly flag: string;
}

export interface LoadConfigOptions {
  /** `DIR/config.yaml`; a missing file means all defaults. */
  readonly configPath: string;
  /** Default: process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly overrides?: readonly ConfigOverride[];
}

type Tree = Record<string, unknown>;

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function setPath(tree: Tree, path: readonly string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (!isTree(next)) node[key] = {};
    node = node[key] as Tree;
  }
  node[path[path.length - 1]!] = value;
}

/**
 * Loads the server configuration: defaults, then `config.yaml`, then `VIGIL_*`
 * environment variables, then command-line overrides. The result is
 * validated against the schema as a whole.
 *
 * @throws ConfigError naming the bad key and its source; fs errors other than ENOENT
 */
export async function loadServerConfig(options: LoadConfigOptions): Promise<ServerConfig> {
  const fileName = basename(options.configPath);
  let tree: Tree = {};
  let text: string | undefined;
  try {
    text = await readFile(options.configPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (text !== undefined) {
    let parsed: unknown;
    try {
      // Bounded aliases (no billion-laughs); warnings (unknown tags) are not printed, the schema judges the values.
      parsed = YAML.parse(text, { maxAliasCount: 10, logLevel: 'error' });
    } catch (err) {
      throw new ConfigError('', options.configPath, `not valid YAML: ${(err as Error).message}`);
    }
    if (parsed !== null && parsed !== undefined && !isTree(parsed)) throw new ConfigError('', options.configPath, 'the file must be a YAML mapping');
    tree = (parsed as Tree | null) ?? {};
  }
  const sources = new Map<string, string>();
  const env = options.env ?? process.env;
  for (const leaf of leaves) {
    const text = env[leaf.envName];
    if (text === undefined) continue;
    setPath(tree, leaf.path, fromEnvString(leaf.node, text));
    sources.set(leaf.path.join('.'), leaf.envName);
  }
  for (const o of options.overrides ?? []) {
    setPath(tree, o.path.split('.'), o.value);
    sources.set(o.path, o.flag);
  }
  const withDefaults = Value.Default(ServerConfigSchema, tree);
  if (validator.Check(withDefaults)) return withDefaults;
  throw firstError(withDefaults, sources, fileName);
}

/** Validates an already-assembled config object (what `init` is about to write). */
export function validateServerConfig(value: unknown, source: string): ServerConfig {
  const withDefaults = Value.Default(ServerConfigSchema, structuredClone(value));
  if (validator.Check(withDefaults)) return withDefaults;
  throw firstError(withDefaults, new Map(), source);
}

function firstError(value: unknown, sources: ReadonlyMap<string, string>, fileName: string): ConfigError {
  const errors = validator.Errors(value);
  const first = errors[0];
  if (first === undefined) return new ConfigError('', fileName, 'invalid');
  const path = first.instancePath.split('/').filter(Boolean).join('.');
  let detail = first.message;
  if (first.keyword === 'boolean' && first.schemaPath.endsWith('additionalProperties')) {
    detail = 'unknown key';
  } else {
    const allowed = allowedValues(path);
    if (allowed !== undefined && errors.some((e) => e.instancePath === first.instancePath && (e.keyword === 'const' || e.keyword === 'anyOf'))) {
      detail = `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`;
    }
  }
  const source = sources.get(path) ?? fileName;
  return new ConfigError(path, source, detail);
}

function allowedValues(path: string): unknown[] | undefined {
  let node: SchemaNode | undefined = schemaNode(ServerConfigSchema);
  for (const key of path.split('.')) node = node?.properties?.[key];
  const options = node?.anyOf;
  return options?.every((o) => o.const !== undefined) ? options.map((o) => o.const) : undefined;
}

/** The configuration with every default (what `init` writes before overrides). */
export function defaultServerConfig(): ServerConfig {
  return Value.Default(ServerConfigSchema, {}) as ServerConfig;
}
