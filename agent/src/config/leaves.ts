import { AgentConfigSchema, schemaNode, type SchemaNode } from './schema.js';

/** Prefix of every agent environment variable. */
export const ENV_PREFIX = 'VIGIL_AGENT_';

/** One configurable key: where it sits, how it is named on the command line and in the environment. */
export interface ConfigLeaf {
  /** Key path, e.g. `['watch', 'debounceMs']`. */
  readonly path: readonly string[];
  /** Dotted path, e.g. `watch.debounceMs`. */
  readonly key: string;
  /** Flag without dashes, e.g. `watch-debounce-ms`. */
  readonly flag: string;
  /** e.g. `VIGIL_AGENT_WATCH_DEBOUNCE_MS`. */
  readonly envName: string;
  /** Commander's property name for the flag (`watchDebounceMs`). */
  readonly optionName: string;
  readonly node: SchemaNode;
  /** No default and not optional: the key must be given. */
  readonly required: boolean;
}

const kebab = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
const upperSnake = (s: string): string => kebab(s).replaceAll('-', '_').toUpperCase();
const camel = (flag: string): string => flag.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function walk(node: SchemaNode, path: readonly string[], required: boolean): ConfigLeaf[] {
  if (node.type === 'object' && node.properties) {
    const req = new Set(node.required ?? []);
    return Object.entries(node.properties).flatMap(([key, child]) => walk(child, [...path, key], req.has(key) && child.default === undefined));
  }
  const flag = node.flag ?? path.map(kebab).join('-');
  return [{ path, key: path.join('.'), flag, envName: ENV_PREFIX + path.map(upperSnake).join('_'), optionName: camel(flag), node, required }];
}

/** Every key of the agent configuration, in schema order. */
export const configLeaves: readonly ConfigLeaf[] = walk(schemaNode(AgentConfigSchema), [], false);

/** The leaf type the walkers convert strings to. */
export function leafType(node: SchemaNode): string | undefined {
  return node.type ?? node.anyOf?.[0]?.type;
}

/**
 * A string from the environment or the command line as the value the leaf
 * expects: numbers for numeric keys, booleans from true/false, comma-separated
 * lists for list keys. A string that does not convert is returned unchanged,
 * so that validation names the key and its source.
 */
export function fromString(node: SchemaNode, text: string): unknown {
  switch (leafType(node)) {
    case 'integer':
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
    case 'boolean':
      return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : text;
    case 'array':
      return text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
    default:
      return text;
  }
}
