import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@vigil/server';
import { DynsecClient, DynsecError, LINK_LOST } from '../server/src/broker-external/dynsec/client.js';
import { DeviceAccess } from '../server/src/broker-external/dynsec/device-access.js';
import { ListClientsData, type DynsecCommand } from '../server/src/broker-external/dynsec/messages.js';
import { deviceAcls, DEVICES_ROLE, VERIFIER_ACLS } from '../server/src/broker-external/dynsec/roles.js';
import { ReplicaMembership, REPLICA_TOPIC_PREFIX } from '../server/src/broker-external/membership.js';

/**
 * Pure logic of the external-broker mode, without a broker: who schedules
 * which device, the dynamic-security request/response pairing, what the
 * reconciliation asks of the plugin, and hostile bytes on the topics a
 * replica reads. (The real Mosquitto is in scale-out-broker.test.ts.)
 */

const silent = createLogger({ level: 'silent' });
const name = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,10}$/);
const deviceId = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,20}$/);

function heartbeat(replica: string, state: 'up' | 'down' = 'up', intervalMs = 1000): [string, Buffer] {
  return [REPLICA_TOPIC_PREFIX + replica, Buffer.from(JSON.stringify({ v: 1, replica, state, intervalMs }))];
}

/** A membership of `self` that has heard from `peers`. */
function membership(self: string, peers: readonly string[], now: () => number = () => 0): ReplicaMembership {
  const m = new ReplicaMembership(self, 1000, now);
  for (const p of peers) m.handle(...heartbeat(p));
  return m;
}

describe('replica membership and schedule ownership', () => {
  it('every device has exactly one owner, and every replica computes the same one', () => {
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 1, maxLength: 6 }), fc.array(deviceId, { minLength: 1, maxLength: 30 }), (replicas, devices) => {
        const views = replicas.map((self) => membership(self, replicas.filter((r) => r !== self)));
        for (const d of devices) {
          const owners = views.filter((v) => v.owns(d)).map((v) => v.self);
          expect(owners).toHaveLength(1);
          expect(new Set(views.map((v) => v.ownerOf(d))).size).toBe(1);
        }
      }),
    );
  });

  it('when a replica leaves, only the devices it owned move', () => {
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 2, maxLength: 6 }), fc.array(deviceId, { minLength: 1, maxLength: 40 }), (replicas, devices) => {
        const [self, ...peers] = replicas as [string, ...string[]];
        const leaving = peers[0]!;
        const m = membership(self, peers);
        const before = new Map(devices.map((d) => [d, m.ownerOf(d)]));
        m.handle(...heartbeat(leaving, 'down'));
        expect(m.live()).not.toContain(leaving);
        for (const d of devices) {
          if (before.get(d) !== leaving) expect(m.ownerOf(d)).toBe(before.get(d));
          else expect(m.ownerOf(d)).not.toBe(leaving);
        }
      }),
    );
  });

  it('a replica silent for three of its intervals is gone; its return brings its devices back', () => {
    let now = 0;
    const m = membership('a', ['b'], () => now);
    expect(m.live()).toEqual(['a', 'b']);
    now = 3000;
    expect(m.live()).toEqual(['a', 'b']);
    now = 3001;
    expect(m.live()).toEqual(['a']);
    expect(m.owns('anything')).toBe(true);
    expect(m.handle(...heartbeat('b'))).toBe(true);
    expect(m.live()).toEqual(['a', 'b']);
  });

  it('ignores heartbeats that name another replica than their topic, its own name, and any malformed bytes', () => {
    const m = membership('a', []);
    expect(m.handle(REPLICA_TOPIC_PREFIX + 'b', Buffer.from(JSON.stringify({ v: 1, replica: 'c', state: 'up', intervalMs: 1000 })))).toBe(false);
    expect(m.handle(...heartbeat('a'))).toBe(false);
    expect(m.handle(REPLICA_TOPIC_PREFIX + 'b', Buffer.from(JSON.stringify({ v: 1, replica: 'b', state: 'up', intervalMs: 1 })))).toBe(false);
    expect(m.live()).toEqual(['a']);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), fc.string(), (bytes, suffix) => {
        expect(m.handle(REPLICA_TOPIC_PREFIX + suffix, Buffer.from(bytes))).toBe(false);
      }),
    );
    expect(m.live()).toEqual(['a']);
  });
});

/** A plugin stand-in: answers each command of a control message through `answer`, echoing correlationData. */
function fakePlugin(answer: (c: DynsecCommand & { correlationData: string }) => { error?: string; data?: unknown } | 'silent') {
  const sent: Array<DynsecCommand & { correlationData: string }> = [];
  let client!: DynsecClient;
  client = new DynsecClient(async (_topic, payload) => {
    const { commands } = JSON.parse(payload.toString()) as { commands: Array<DynsecCommand & { correlationData: string }> };
    sent.push(...commands);
    const responses = commands.flatMap((c) => {
      const a = answer(c);
      return a === 'silent' ? [] : [{ command: c.command, correlationData: c.correlationData, ...a }];
    });
    // Answers come asynchronously, as from the broker; another client's answers are mixed in.
    setImmediate(() => client.handleResponse(Buffer.from(JSON.stringify({ responses: [{ command: 'getClient', correlationData: 'someone-else-1', error: 'x' }, ...responses] }))));
  }, 200);
  return { client, sent };
}

describe('dynamic-security client', () => {
  it('pairs answers with commands by correlation, in order, across messages of 200 commands', async () => {
    const { client, sent } = fakePlugin((c) => (c.command === 'getClient' ? { data: { client: { username: c.username, roles: [] } } } : {}));
    const commands: DynsecCommand[] = Array.from({ length: 450 }, (_, i) => ({ command: 'getClient', username: `d${i}` }));
    const responses = await client.run(commands);
    expect(responses.map((r) => (r.data as { client: { username: string } }).client.username)).toEqual(commands.map((c) => (c as { username: string }).username));
    expect(new Set(sent.map((c) => c.correlationData)).size).toBe(450);
  });

  it('turns a refusal into DynsecError, a missing answer into a timeout, and a lost session into LINK_LOST', async () => {
    const { client } = fakePlugin((c) => (c.command === 'createClient' ? { error: 'Client already exists' } : 'silent'));
    await expect(client.runOk([{ command: 'createClient', username: 'x' }])).rejects.toThrowError(new DynsecError('createClient', 'Client already exists'));
    expect(await client.runOk([{ command: 'createClient', username: 'x' }], (r) => r.error === 'Client already exists')).toHaveLength(1);
    const [late] = await client.run([{ command: 'getClient', username: 'x' }]);
    expect(late!.error).toMatch(/no answer within 200 ms/);
    const pending = client.run([{ command: 'getClient', username: 'y' }]);
    client.abandon(LINK_LOST);
    expect((await pending)[0]!.error).toBe(LINK_LOST);
  });

  it('a query whose data has the wrong shape fails, and hostile response bytes are ignored', async () => {
    const { client } = fakePlugin(() => ({ data: { clients: 'not a list' } }));
    await expect(client.query({ command: 'listClients', verbose: true, count: 10, offset: 0 }, ListClientsData)).rejects.toBeInstanceOf(DynsecError);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (bytes) => {
        client.handleResponse(bytes);
      }),
    );
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        client.handleResponse(Buffer.from(JSON.stringify(value)));
      }),
    );
  });
});

describe('device access reconciliation', () => {
  /** A plugin holding `clients` and `roles`, recording the changes asked of it. */
  function plugin(clients: Array<{ username: string; disabled?: boolean; roles: string[] }>, roles: string[]) {
    return fakePlugin((c) => {
      if (c.command === 'listClients') {
        const page = clients.slice(c.offset, c.offset + c.count);
        return { data: { totalCount: clients.length, clients: page.map((x) => ({ username: x.username, ...(x.disabled ? { disabled: true } : {}), roles: x.roles.map((rolename) => ({ rolename })), groups: [] })) } };
      }
      if (c.command === 'listRoles') return { data: { totalCount: roles.length, roles: roles.slice(c.offset, c.offset + c.count) } };
      return {};
    });
  }
  const changes = (sent: DynsecCommand[]) => sent.filter((c) => c.command !== 'listClients' && c.command !== 'listRoles').map((c) => `${c.command} ${'username' in c ? c.username : ''} ${'rolename' in c ? c.rolename : ''}`.trim());

  it('admits what the store allows, excludes what it does not, and changes nothing that is already right', async () => {
    const { client, sent } = plugin(
      [
        { username: 'ok', roles: ['vigil:device:ok', DEVICES_ROLE] },
        { username: 'revoked', roles: ['vigil:device:revoked', DEVICES_ROLE] },
        { username: 'reenrolled', disabled: true, roles: [] },
        { username: 'stranger', roles: ['vigil:device:stranger'] },
        { username: 'vigil:verifier:a', roles: ['vigil:verifier'] },
      ],
      ['vigil:device:ok', 'vigil:device:revoked', 'vigil:device:reenrolled', 'vigil:device:stranger', 'vigil:verifier', DEVICES_ROLE],
    );
    const access = new DeviceAccess(client, silent);
    const report = await access.reconcile(async () => [
      { deviceId: 'ok', enabled: true },
      { deviceId: 'revoked', enabled: false },
      { deviceId: 'reenrolled', enabled: true },
      { deviceId: 'new', enabled: true },
    ]);
    expect(changes(sent).sort()).toEqual(
      [
        'removeClientRole revoked vigil:device:revoked',
        `removeClientRole revoked ${DEVICES_ROLE}`,
        'disableClient revoked',
        'addClientRole reenrolled vigil:device:reenrolled',
        `addClientRole reenrolled ${DEVICES_ROLE}`,
        'enableClient reenrolled',
        'createRole  vigil:device:new',
        'createClient new',
        'removeClientRole stranger vigil:device:stranger',
        'disableClient stranger',
      ].sort(),
    );
    expect(report).toMatchObject({ devices: 4, admitted: 2, excluded: 2, commandsFailed: 0 });
    const created = sent.find((c) => c.command === 'createRole' && c.rolename === 'vigil:device:new') as { acls: unknown };
    expect(created.acls).toEqual(deviceAcls('new'));
  });

  it('grants a device only its own exact topics, and the verifier no device-to-server topic it could publish on', () => {
    fc.assert(
      fc.property(deviceId, (id) => {
        const acls = deviceAcls(id);
        for (const a of acls) {
          expect(a.topic).not.toMatch(/[+#]/);
          expect(a.topic.split('/')[3]).toBe(id);
        }
        expect(acls.filter((a) => a.acltype === 'publishClientSend').map((a) => a.topic.split('/').slice(4).join('/')).sort()).toEqual(['challenge/request', 'evidence']);
      }),
    );
    const verifierPublishes = VERIFIER_ACLS.filter((a) => a.acltype === 'publishClientSend').map((a) => a.topic);
    expect(verifierPublishes.some((t) => t.endsWith('/evidence') || t.endsWith('/challenge/request'))).toBe(false);
  });
});
