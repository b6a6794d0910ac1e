/**
 * The README a newcomer reads is held to the code: its server configuration
 * table against the configuration schema (every key, its default, its
 * environment variable), its exit code table against `ExitCode`, every
 * `vigil-server` / `vigil-agent` command line in its code blocks against the
 * real command tree (commands, subcommands and long options exist), and
 * every relative link against the repository.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, type Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { commands as agentCommands } from '../agent/src/cli/commands/index.js';
import { commands as serverCommands } from '../server/src/cli/commands/index.js';
import { ExitCode } from '../server/src/cli/exit-codes.js';
import { serverConfigLeaves } from '../server/src/config/env.js';

const ROOT = join(import.meta.dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The lines of a markdown section (from its heading to the next heading of the same or a higher level). */
function section(markdown: string, heading: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l === heading);
  if (start < 0) throw new Error(`README has no section ${heading}`);
  const level = heading.indexOf(' ');
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && l.indexOf(' ') <= level);
  return lines.slice(start + 1, end < 0 ? undefined : end);
}

/** Table rows (cells trimmed) of the lines given, header and separator excluded. */
function tableRows(lines: readonly string[]): string[][] {
  return lines
    .filter((l) => l.startsWith('|'))
    .slice(2)
    .map((l) => l.slice(1, -1).split(' | ').map((c) => c.trim()));
}

describe('the server configuration table', () => {
  const rows = tableRows(section(README, '## Configuration reference')).filter((r) => r.length === 4);
  const documented = new Map(rows.map(([key, def, env]) => [key!.replace(/`/g, ''), { def: def!.replace(/^`|`$/g, ''), env: env!.replace(/`/g, '') }]));
  const leaves = serverConfigLeaves();

  it('lists every key of the schema, with its default and environment variable', () => {
    const problems: string[] = [];
    for (const leaf of leaves) {
      const key = leaf.path.join('.');
      const row = documented.get(key);
      const def = JSON.stringify((leaf.node as { default?: unknown }).default);
      if (row === undefined) problems.push(`${key}: missing`);
      else {
        if (row.env !== leaf.envName) problems.push(`${key}: environment ${row.env}, schema ${leaf.envName}`);
        if (row.def !== def) problems.push(`${key}: default ${row.def}, schema ${def}`);
      }
    }
    expect(problems, 'README.md "Configuration reference" is out of date with server/src/config').toEqual([]);
  });

  it('lists no key the schema does not have', () => {
    const keys = new Set(leaves.map((l) => l.path.join('.')));
    expect([...documented.keys()].filter((k) => !keys.has(k))).toEqual([]);
    expect(documented.size).toBe(leaves.length);
  });
});

describe('the exit code table', () => {
  it('has every code of ExitCode, and no other except the demo interruption', () => {
    const codes = tableRows(section(README, '## Command-line exit codes')).map((r) => r[0]!);
    const expected = Object.values(ExitCode).map(String);
    expect(codes.filter((c) => !c.includes('/'))).toEqual(expected);
  });
});

/** Shell words of a command line: quotes removed, stopping at a comment or a control operator. */
function words(line: string): string[] {
  const out: string[] = [];
  let current = '';
  let quote: string | undefined;
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else current += ch;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      started = true;
      continue;
    }
    if (/\s/.test(ch)) {
      if (started) out.push(current);
      current = '';
      started = false;
      continue;
    }
    if (!started && (ch === '#' || ch === '|' || ch === '&' || ch === ';' || ch === '>')) break;
    current += ch;
    started = true;
  }
  if (started) out.push(current);
  return out;
}

/** Every invocation of `program` in the README's fenced code blocks, as words after the program name. */
function invocations(program: 'vigil-server' | 'vigil-agent'): string[][] {
  const found: string[][] = [];
  let inCode = false;
  for (const line of README.split('\n')) {
    if (line.startsWith('```')) {
      inCode = !inCode;
      continue;
    }
    if (!inCode) continue;
    // A command line may continue after `&&`: check each part.
    for (const part of line.split('&&')) {
      const w = words(part);
      const at = w.findIndex((x) => x === program);
      if (at >= 0 && w.slice(0, at).every((x) => x === 'npx' || /^[A-Z_]+=/.test(x))) found.push(w.slice(at + 1));
    }
  }
  return found;
}

function program(name: string, registers: ReadonlyArray<(p: Command) => void>): Command {
  const p = new Command(name);
  for (const register of registers) register(p);
  return p;
}

/** What is wrong with `args` as a command line of `root`, or undefined. */
function check(root: Command, args: readonly string[]): string | undefined {
  let command = root;
  let i = 0;
  while (i < args.length && !args[i]!.startsWith('-')) {
    const sub = command.commands.find((c) => c.name() === args[i] || c.aliases().includes(args[i]!));
    if (sub === undefined) break;
    command = sub;
    i++;
  }
  if (command === root) return `no command ${args[0] ?? '(none)'}`;
  if (command.commands.length > 0 && args[i] !== undefined && !args[i]!.startsWith('-')) {
    return `${command.name()} has no subcommand ${args[i]}`;
  }
  const known = new Set(command.options.flatMap((o: Option) => [o.long, o.short]).filter((f): f is string => f !== undefined));
  known.add('--help');
  known.add('-h');
  for (const a of args.slice(i)) {
    if (!a.startsWith('--')) continue;
    const flag = a.split('=')[0]!;
    if (!known.has(flag)) return `${command.name()} has no option ${flag}`;
  }
  return undefined;
}

describe('command lines in the README', () => {
  for (const [name, registers] of [
    ['vigil-server', serverCommands],
    ['vigil-agent', agentCommands],
  ] as const) {
    it(`every ${name} command, subcommand and long option exists`, () => {
      const root = program(name, registers);
      const lines = invocations(name);
      expect(lines.length).toBeGreaterThan(2);
      const problems = lines.map((args) => ({ line: `${name} ${args.join(' ')}`, problem: check(root, args) })).filter((p) => p.problem !== undefined);
      expect(problems).toEqual([]);
    });
  }

  it('the checker itself refuses what does not exist', () => {
    const root = program('vigil-server', serverCommands);
    expect(check(root, ['devices', 'list', '--state', 'x'])).toBeUndefined();
    expect(check(root, ['devices', 'lsit'])).toMatch(/no subcommand lsit/);
    expect(check(root, ['token', 'create', '--usess', '3'])).toMatch(/no option --usess/);
    expect(check(root, ['frobnicate'])).toMatch(/no command/);
  });
});

describe('links', () => {
  it('every relative link of the README points at a file or folder of the repository', () => {
    const targets = [...README.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/.test(t));
    expect(targets.length).toBeGreaterThan(5);
    expect(targets.filter((t) => !existsSync(join(dirname(join(ROOT, 'README.md')), t)))).toEqual([]);
  });
});
