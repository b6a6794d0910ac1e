import YAML, { isMap, isPair, isScalar, type YAMLMap } from 'yaml';
import { configLeaves } from './env.js';
import { schemaNode, ServerConfigSchema, type SchemaNode, type ServerConfig } from './schema.js';

const envNames = new Map(configLeaves(schemaNode(ServerConfigSchema)).map((l) => [l.path.join('.'), l.envName]));

/**
 * The configuration as YAML with a comment above every key: the key's schema
 * description and the environment variable that overrides it.
 */
export function renderConfigYaml(config: ServerConfig): string {
  const doc = new YAML.Document(inSchemaOrder(config, schemaNode(ServerConfigSchema)));
  doc.commentBefore = [
    ' Vigil server configuration (written by `vigil-server init`).',
    ' Precedence: defaults < this file < VIGIL_* environment variables < command-line flags.',
    ' Invalid values stop the server with exit code 2, naming the key.',
  ].join('\n');
  if (isMap(doc.contents)) annotate(doc.contents, schemaNode(ServerConfigSchema), []);
  return doc.toString({ lineWidth: 0 });
}

function annotate(map: YAMLMap, node: SchemaNode, path: string[]): void {
  for (const pair of map.items) {
    if (!isPair(pair) || !isScalar(pair.key)) continue;
    const key = String(pair.key.value);
    const child = node.properties?.[key];
    if (child === undefined) continue;
    const keyPath = [...path, key];
    const env = envNames.get(keyPath.join('.'));
    const lines = [child.description ?? key, ...(env && child.type !== 'object' ? [`env: ${env}`] : [])];
    pair.key.commentBefore = lines.map((l) => ` ${l}`).join('\n');
    if (isMap(pair.value)) annotate(pair.value, child, keyPath);
  }
}

/** Rebuilds objects with their keys in schema order, so the file reads the same whatever order values were merged in. */
function inSchemaOrder(value: unknown, node: SchemaNode): unknown {
  if (node.type !== 'object' || node.properties === undefined || typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const source = value as Record<string, unknown>;
  const ordered: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(node.properties)) {
    if (key in source) ordered[key] = inSchemaOrder(source[key], child);
  }
  return ordered;
}
