import { schemaNode, ServerConfigSchema, type SchemaNode } from './schema.js';

/** A configuration leaf: its key path and the environment variable that overrides it. */
export interface ConfigLeaf {
  readonly path: readonly string[];
  readonly envName: string;
  readonly node: SchemaNode;
}

/** `maxPacketBytes` → `MAX_PACKET_BYTES`. */
function upperSnake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** Every leaf of the schema with its `VIGIL_<SECTION>_<KEY>` name (e.g. `VIGIL_LISTEN_PORT`). */
export function configLeaves(node: SchemaNode, path: readonly string[] = []): ConfigLeaf[] {
  if (node.type === 'object' && node.properties) {
    return Object.entries(node.properties).flatMap(([key, child]) => configLeaves(child, [...path, key]));
  }
  return [{ path, envName: `VIGIL_${path.map(upperSnake).join('_')}`, node }];
}

function leafType(node: SchemaNode): string | undefined {
  return node.type ?? node.anyOf?.[0]?.type;
}

/**
 * An environment string as the value the leaf expects: numbers for numeric
 * leaves, comma-separated lists for arrays, booleans from true/false. A string
 * that does not convert is returned unchanged, so validation reports the key.
 */
export function fromEnvString(node: SchemaNode, text: string): unknown {
  switch (leafType(node)) {
    case 'integer':
    case 'number':
      return /^-?\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text;
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    case 'array':
      return text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    default:
      return text;
  }
}

/** Every key of the server configuration with its environment variable name. */
export function serverConfigLeaves(): ConfigLeaf[] {
  return configLeaves(schemaNode(ServerConfigSchema));
}
