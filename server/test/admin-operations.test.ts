import { Command } from 'commander';
import fc from 'fast-check';
import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { DEVICE_ID_PATTERN } from '@vigil/protocol/core';
import { inputParts } from '../src/admin/api/input-parts.js';
import { mountOperationCommands } from '../src/admin/cli/mount.js';
import { httpCallFor } from '../src/admin/client/request.js';
import { decodeInput, decodeObject } from '../src/admin/operations/input.js';
import { defineOperation, type Operation } from '../src/admin/operations/operation.js';
import { shortTime, table } from '../src/admin/operations/format.js';
import { findOperation, operations } from '../src/admin/operations/registry.js';
import { ROLES, roleAllows } from '../src/admin/roles.js';

/** The operations registry's pure parts: declarations, input decoding, HTTP layout, command mounting, roles. */

const base = {
  name: 'things.list',
  summary: 'list things',
  method: 'GET' as const,
  path: '/v1/things',
  role: 'viewer' as const,
  output: Type.Object({}),
  offline: true,
  handler: async () => ({}),
};

describe('defineOperation', () => {
  it('accepts a sound declaration and derives path parameters and mutability', () => {
    const op = defineOperation({ ...base, method: 'POST', path: '/v1/things/:id/:part', input: Type.Object({ id: Type.String(), part: Type.Integer(), note: Type.Optional(Type.String()) }) });
    expect(op.pathParams).toEqual(['id', 'part']);
    expect(op.mutating).toBe(true);
    expect(defineOperation({ ...base, input: Type.Object({}) }).mutating).toBe(false);
  });

  it('refuses declarations the registry could not serve, at definition time', () => {
    const bad: Array<[string, () => Operation]> = [
      ['name', () => defineOperation({ ...base, name: 'List Things', input: Type.Object({}) })],
      ['path syntax', () => defineOperation({ ...base, path: 'v1/things?x', input: Type.Object({}) })],
      ['path param not an input', () => defineOperation({ ...base, path: '/v1/things/:id', input: Type.Object({}) })],
      ['optional path param', () => defineOperation({ ...base, path: '/v1/things/:id', input: Type.Object({ id: Type.Optional(Type.String()) }) })],
      ['object in a query string', () => defineOperation({ ...base, input: Type.Object({ filter: Type.Object({ a: Type.String() }) }) })],
      ['array in a query string', () => defineOperation({ ...base, method: 'DELETE', input: Type.Object({ ids: Type.Array(Type.String()) }) })],
      ['CLI argument not an input', () => defineOperation({ ...base, input: Type.Object({}), cli: { command: ['things'], arguments: ['id' as never], render: () => '' } })],
    ];
    for (const [what, define] of bad) expect(define, what).toThrow();
  });

  it('every registered operation has a unique name and route', () => {
    const names = operations.map((op) => op.name);
    expect(new Set(names).size).toBe(names.length);
    const routes = operations.map((op) => `${op.method} ${op.path.replace(/:[A-Za-z0-9]+/g, ':')}`);
    expect(new Set(routes).size).toBe(routes.length);
    for (const op of operations) expect(ROLES).toContain(op.role);
  });

  it('an online-only operation refuses to run without the server', async () => {
    const op = defineOperation({ ...base, offline: false, input: Type.Object({}) });
    const ctx = { server: undefined } as unknown as Parameters<Operation['run']>[0];
    await expect(op.run(ctx, {})).rejects.toMatchObject({ code: 'unavailable' });
  });
});

describe('roles', () => {
  it('viewer < operator < admin, each allowed what the lower ones are', () => {
    for (const [i, held] of ROLES.entries()) {
      for (const [j, needed] of ROLES.entries()) expect(roleAllows(held, needed), `${held} for ${needed}`).toBe(i >= j);
    }
  });
});

describe('decodeInput', () => {
  const op = defineOperation({
    ...base,
    path: '/v1/things/:id',
    input: Type.Object(
      {
        id: Type.String({ pattern: DEVICE_ID_PATTERN, description: 'a thing id' }),
        limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
        all: Type.Optional(Type.Boolean()),
        kind: Type.Optional(Type.Enum(['a', 'b'])),
      },
      { additionalProperties: false },
    ),
  });

  it('converts text, applies defaults and leaves the raw object alone', () => {
    const raw = { id: 'cam-1', all: 'true' };
    expect(decodeInput(op, raw, { fromText: true })).toEqual({ ok: true, value: { id: 'cam-1', all: true, limit: 20 } });
    expect(raw).toEqual({ id: 'cam-1', all: 'true' });
    expect(decodeInput(op, { id: 'cam-1', limit: '5' }, { fromText: true })).toEqual({ ok: true, value: { id: 'cam-1', limit: 5 } });
  });

  it('does not convert JSON input: a string is not a number there', () => {
    expect(decodeInput(op, { id: 'cam-1', limit: '5' }, { fromText: false })).toMatchObject({ ok: false, problems: [{ property: 'limit' }] });
  });

  it('names each problem once, by property, in words', () => {
    const r = decodeInput(op, { id: 'Cam 1', limit: '0', kind: 'c', extra: 1 }, { fromText: true });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const byProperty = Object.fromEntries(r.problems.map((p) => [p.property, p.message]));
    expect(byProperty).toEqual({
      id: 'is not in the expected format: a thing id',
      limit: 'must be >= 1',
      kind: 'must be one of "a", "b"',
      extra: 'is not an input of this operation',
    });
    expect(decodeInput(op, {}, { fromText: true })).toEqual({ ok: false, problems: [{ property: 'id', message: 'is required' }] });
  });

  it('never throws, whatever it is given, for every registered operation', () => {
    fc.assert(
      fc.property(fc.constantFrom(...operations), fc.dictionary(fc.string({ maxLength: 12 }), fc.anything({ maxDepth: 2 }), { maxKeys: 6 }), fc.boolean(), (o, raw, fromText) => {
        const r = decodeInput(o, raw, { fromText });
        if (!r.ok) {
          expect(r.problems.length).toBeGreaterThan(0);
          for (const p of r.problems) expect(p.property === '' || p.property in raw || p.property in o.input.properties).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('HTTP layout (client) and input parts (server) agree', () => {
  /** What the server rebuilds from a request the client laid out. */
  function serverSide(op: Operation, call: ReturnType<typeof httpCallFor>): Record<string, unknown> {
    const url = new URL(call.path, 'https://admin.invalid');
    const pattern = new RegExp('^' + op.path.replace(/:([A-Za-z0-9]+)/g, '(?<$1>[^/]+)') + '$');
    const match = pattern.exec(url.pathname);
    expect(match, `${call.path} matches ${op.path}`).not.toBeNull();
    const params = Object.fromEntries(Object.entries(match!.groups ?? {}).map(([k, v]) => [k, decodeURIComponent(v)]));
    const parts = inputParts(op);
    const decoded: Record<string, unknown> = {};
    if (parts.params) Object.assign(decoded, expectOk(decodeObject(parts.params, params, { fromText: true })));
    if (parts.querystring) Object.assign(decoded, expectOk(decodeObject(parts.querystring, Object.fromEntries(url.searchParams), { fromText: true })));
    if (parts.body) Object.assign(decoded, expectOk(decodeObject(parts.body, JSON.parse(JSON.stringify(call.body ?? {})) as Record<string, unknown>, { fromText: false })));
    return decoded;
  }

  function expectOk(r: ReturnType<typeof decodeObject>): Record<string, unknown> {
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    return r.value;
  }

  const deviceId = fc.stringMatching(new RegExp(DEVICE_ID_PATTERN));
  const text = fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s));

  it('any valid input survives the trip through path, query string or body unchanged', () => {
    const cases: Array<[string, fc.Arbitrary<Record<string, unknown>>]> = [
      ['devices.list', fc.record({ state: fc.constantFrom('none', 'affirming', 'warning', 'contraindicated', 'revoked'), group: text }, { requiredKeys: [] })],
      ['devices.show', fc.record({ id: deviceId })],
      ['devices.attestations', fc.record({ id: deviceId, limit: fc.integer({ min: 1, max: 1000 }), before: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) }, { requiredKeys: ['id', 'limit'] })],
      ['audit.list', fc.record({ after: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), limit: fc.integer({ min: 1, max: 100_000 }) })],
      ['tokens.create', fc.record({ uses: fc.integer({ min: 1, max: 999_999 }), ttl: fc.constantFrom('1h', '30m', '7d', '1h30m'), label: text }, { requiredKeys: ['uses', 'ttl'] })],
      ['tokens.revoke', fc.record({ id: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }) })],
      ['admins.revoke', fc.record({ name: deviceId, serial: fc.stringMatching(/^[0-9a-f]{1,40}$/) }, { requiredKeys: ['name'] })],
    ];
    for (const [name, input] of cases) {
      const op = findOperation(name)!;
      fc.assert(
        fc.property(input, (value) => {
          expect(decodeInput(op, value, { fromText: false }).ok).toBe(true);
          expect(serverSide(op, httpCallFor(op, value))).toEqual(expectOk(decodeInput(op, value, { fromText: false })));
        }),
        { numRuns: 150 },
      );
    }
  });

  it('splits inputs into parts by method: params, then query (GET/DELETE) or body', () => {
    const parts = inputParts(findOperation('devices.attestations')!);
    expect(Object.keys(parts.params!.properties)).toEqual(['id']);
    expect(parts.params!.required).toEqual(['id']);
    expect(Object.keys(parts.querystring!.properties)).toEqual(['limit', 'before']);
    expect(parts.body).toBeUndefined();
    const create = inputParts(findOperation('tokens.create')!);
    expect(create.params).toBeUndefined();
    expect(create.querystring).toBeUndefined();
    expect(Object.keys(create.body!.properties)).toEqual(['uses', 'ttl', 'label', 'deviceName']);
  });
});

describe('command mounting', () => {
  const op = defineOperation({
    ...base,
    name: 'things.show',
    path: '/v1/things/:id',
    input: Type.Object(
      {
        id: Type.String({ description: 'which thing' }),
        maxUses: Type.Integer({ default: 3, description: 'how many' }),
        verbose: Type.Optional(Type.Boolean({ description: 'say more' })),
        label: Type.Optional(Type.String()),
      },
      { additionalProperties: false },
    ),
    cli: { command: ['things', 'show'], arguments: ['id'], options: { label: { flag: '--tag', valueName: 'text', description: 'a tag' } }, render: () => '' },
  });

  it('derives arguments, options, defaults and the shared --data/--json from the input schema', () => {
    const program = new Command('vigil-server');
    mountOperationCommands(program, [op]);
    const show = program.commands.find((c) => c.name() === 'things')!.commands.find((c) => c.name() === 'show')!;
    expect(show.registeredArguments.map((a) => [a.name(), a.required])).toEqual([['id', true]]);
    const options = Object.fromEntries(show.options.map((o) => [o.flags, o.description]));
    expect(options).toEqual({
      '--max-uses <maxUses>': 'how many (default: 3)',
      '--verbose': 'say more',
      '--tag <text>': 'a tag',
      '--data <dir>': 'data directory (default: $VIGIL_DATA or /var/lib/vigil)',
      '--json': 'print the result as JSON',
    });
  });

  it('refuses two operations claiming one command, and inputs named like the shared options', () => {
    const program = new Command('vigil-server');
    mountOperationCommands(program, [op]);
    expect(() => mountOperationCommands(program, [op])).toThrow(/declared twice/);
    const clash = defineOperation({ ...base, name: 'things.data', input: Type.Object({ data: Type.Optional(Type.String()) }), cli: { command: ['things', 'data'], render: () => '' } });
    expect(() => mountOperationCommands(new Command(), [clash])).toThrow(/collides/);
  });

  it('the registry mounts on vigil-server without clashes', () => {
    const program = new Command('vigil-server');
    mountOperationCommands(program, operations);
    const paths = program.commands.flatMap((c) => (c.commands.length > 0 ? c.commands.map((s) => `${c.name()} ${s.name()}`) : [c.name()]));
    expect(paths).toEqual(expect.arrayContaining(['devices list', 'device show', 'attestations', 'token create', 'token list', 'token revoke', 'audit verify', 'audit list', 'admin list', 'admin revoke']));
  });
});

describe('text output', () => {
  it('aligns table columns to the widest cell and does not pad the last', () => {
    const out = table(['ID', 'NAME', 'NOTE'], [['1', 'a-long-name', 'x'], ['22', 'b', '']]);
    expect(out).toBe('ID  NAME         NOTE\n1   a-long-name  x\n22  b\n');
  });

  it('shortens ISO times and shows a dash for none', () => {
    expect(shortTime('2026-01-02T03:04:05.678Z')).toBe('2026-01-02 03:04:05Z');
    expect(shortTime(null)).toBe('-');
  });
});
