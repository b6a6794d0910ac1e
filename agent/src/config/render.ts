import YAML from 'yaml';
import { configLeaves, type ConfigLeaf } from './leaves.js';
import { AgentConfigSchema, schemaNode, type AgentConfig, type SchemaNode } from './schema.js';

const HEADER = [
  'Vigil agent configuration (vigil-agent run --config /etc/vigil/agent.yaml).',
  'Generated from the agent\'s configuration schema (agent/src/config/schema.ts): every',
  'key with its description, its environment variable and its command-line flag.',
  'Precedence: defaults < this file < VIGIL_AGENT_* environment variables < flags.',
  'Relative paths are relative to this file. An invalid value stops the agent with',
  'exit code 2, naming the key and where the value came from.',
];

function scalar(value: unknown): string {
  return YAML.stringify(value, { lineWidth: 0 }).trimEnd();
}

function flagHelp(leaf: ConfigLeaf): string {
  if (leaf.node.type === 'boolean') return `--${leaf.flag} / --no-${leaf.flag}`;
  return `--${leaf.flag} ${leaf.node.placeholder ?? '<value>'}${leaf.node.type === 'array' ? ' (repeatable)' : ''}`;
}

function comment(lines: readonly string[], indent: string): string[] {
  return lines.map((l) => `${indent}# ${l}`.trimEnd());
}

/** Wraps a description at about 88 columns. */
function wrap(text: string, width = 88): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}

function renderValue(key: string, value: unknown, indent: string, commentedOut: boolean): string[] {
  const prefix = commentedOut ? `${indent}# ` : indent;
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${prefix}${key}: []`];
    return [`${prefix}${key}:`, ...value.map((v) => `${prefix}  - ${scalar(v)}`)];
  }
  return [`${prefix}${key}: ${scalar(value)}`];
}

/**
 * The configuration as commented YAML: above each key its schema
 * description, environment variable and flag. Without `config` this is the
 * example file (`agent/packaging/agent.yaml`): example values where the
 * schema has them, defaults elsewhere, optional keys commented out. With a
 * loaded `config` it shows the effective values, secrets redacted.
 */
export function renderAgentConfig(config?: AgentConfig): string {
  const lines: string[] = [...comment(HEADER, ''), ''];
  const root = schemaNode(AgentConfigSchema);
  const leaves = new Map(configLeaves.map((l) => [l.key, l]));
  const values = config as unknown as Record<string, unknown> | undefined;

  const emit = (node: SchemaNode, path: string[], indent: string): void => {
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const keyPath = [...path, key];
      if (child.type === 'object' && child.properties) {
        lines.push(...comment(wrap(child.description ?? key), indent), `${indent}${key}:`);
        emit(child, keyPath, `${indent}  `);
        lines.push('');
        continue;
      }
      const leaf = leaves.get(keyPath.join('.'))!;
      lines.push(...comment([...wrap(child.description ?? key), `env: ${leaf.envName}   flag: ${flagHelp(leaf)}`], indent));
      let value: unknown = values;
      for (const k of keyPath) value = (value as Record<string, unknown> | undefined)?.[k];
      // The example shows optional keys without a default commented out; an effective configuration omits unset ones.
      const commentedOut = config === undefined ? !leaf.required && child.default === undefined : value === undefined;
      if (config === undefined || value === undefined) value = child.example ?? child.default ?? child.placeholder ?? '';
      lines.push(...renderValue(key, child.secret === true && config !== undefined ? '[redacted]' : value, indent, commentedOut));
      if (indent === '') lines.push('');
    }
  };
  emit(root, [], '');
  while (lines[lines.length - 1] === '') lines.pop();
  return lines.join('\n') + '\n';
}
