/**
 * The daemon's MQTT connection and revocation judgement against the real
 * broker over real mutual TLS, with device certificates from a test fleet CA.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRevocation, signRevocation, topics } from '@vigil/protocol';
import { generateKeyPair } from '@vigil/tpm2-ts';
import type { FleetCa } from '@vigil/server';
import { judgeFleetEvent, revocationFromRefusal, revocationFromResult } from '../src/daemon/revocation.js';
import { type ConnectFailure, ServerConnection, type ServerConnectionOptions } from '../src/daemon/server-connection.js';
import { startTestBroker, type TestBroker } from '../../test/harness/broker.js';
import { makeDeviceCredentials, makeFleetCa, type DeviceCredentials } from '../../test/harness/pki.js';

const log = pino({ level: 'silent' });
let ca: FleetCa;
let broker: TestBroker;
const connections: ServerConnection[] = [];

beforeAll(async () => {
  ca = await makeFleetCa();
  broker = await startTestBroker(ca);
});
afterAll(async () => {
  for (const c of connections) await c.stop();
  await broker?.broker.close();
});

interface Events {
  online: Array<{ reconnect: boolean; serverKeyType: string | undefined }>;
  closed: Array<{ failure: ConnectFailure | undefined; wasOnline: boolean }>;
  waits: number[];
  messages: Array<{ topic: string; payload: string }>;
}

/** A connection for `creds` whose events are recorded; `decide` answers onClosed. */
function connection(creds: DeviceCredentials, decide: (f: ConnectFailure | undefined) => 'retry' | 'stop', extra: Partial<ServerConnectionOptions> = {}) {
  const events: Events = { online: [], closed: [], waits: [], messages: [] };
  const waiters: Array<{ when: () => boolean; resolve: () => void }> = [];
  const poke = () => {
    for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!.when()) waiters.splice(i, 1)[0]!.resolve();
  };
  const c = new ServerConnection({
    host: 'localhost',
    port: broker.port,
    tlsMinVersion: 'TLSv1.3',
    connectTimeoutMs: 10_000,
    keepaliveSeconds: 30,
    initialDelayMs: 100,
    maxDelayMs: 400,
    subscriptions: [topics.deviceChallenge(creds.deviceId), topics.deviceResult(creds.deviceId), topics.fleetRevocations],
    log,
    credentials: async () => ({ clientId: creds.deviceId, keyPem: creds.keyPem, certificatePem: creds.certPem, caPem: ca.certificatePem }),
    onOnline: ({ reconnect, serverCertificate }) => {
      events.online.push({ reconnect, serverKeyType: serverCertificate?.publicKey.asymmetricKeyType });
      poke();
    },
    onMessage: (topic, payload) => {
      events.messages.push({ topic, payload: payload.toString() });
      poke();
    },
    onClosed: (failure, wasOnline) => {
      events.closed.push({ failure, wasOnline });
      poke();
      return decide(failure);
    },
    onWaiting: (delay) => {
      events.waits.push(delay);
      poke();
    },
    ...extra,
  });
  connections.push(c);
  const until = (when: () => boolean) => new Promise<void>((resolve) => (when() ? resolve() : waiters.push({ when, resolve })));
  return { c, events, until };
}

describe('ServerConnection', () => {
  it('connects with the device certificate, subscribes, receives its topics and the fleet feed', async () => {
    const creds = makeDeviceCredentials(ca, 'conn-basic');
    const { c, events, until } = connection(creds, () => 'retry');
    c.start();
    await until(() => events.online.length === 1);
    expect(events.online[0]).toEqual({ reconnect: false, serverKeyType: 'rsa' });
    expect(c.online).toBe(true);
    await broker.broker.publish(topics.deviceChallenge('conn-basic'), 'hello');
    await broker.broker.publish(topics.deviceChallenge('someone-else'), 'not for us');
    await broker.broker.publish(topics.fleetRevocations, 'fleet');
    await until(() => events.messages.length >= 2);
    expect(events.messages.map((m) => m.payload).sort()).toEqual(['fleet', 'hello']);
    // It may publish on its own topics.
    const seen = new Promise<string>((resolve) => {
      const off = broker.broker.onMessage((m) => {
        if (m.topic === topics.deviceChallengeRequest('conn-basic')) {
          off();
          resolve(Buffer.from(m.payload).toString());
        }
      });
    });
    await c.publish(topics.deviceChallengeRequest('conn-basic'), new TextEncoder().encode('{"v":1,"reason":"manual"}'));
    expect(await seen).toContain('manual');
    await c.stop();
    expect(c.online).toBe(false);
    await expect(c.publish(topics.deviceEvidence('conn-basic'), new Uint8Array(1))).rejects.toThrow(/not connected/);
  });

  it('reconnects with growing, bounded, jittered delays while the server is away, and resubscribes', async () => {
    const creds = makeDeviceCredentials(ca, 'conn-backoff');
    const { c, events, until } = connection(creds, () => 'retry');
    c.start();
    await until(() => events.online.length === 1);
    // The broker drops the session; the agent comes back on its own and subscribes again.
    broker.broker.disconnect({ kind: 'device', deviceId: 'conn-backoff' });
    await until(() => events.online.length === 2);
    expect(events.online[1]!.reconnect).toBe(true);
    await broker.broker.publish(topics.deviceResult('conn-backoff'), 'after reconnect');
    await until(() => events.messages.some((m) => m.payload === 'after reconnect'));
    expect(events.closed[0]!.wasOnline).toBe(true);
    for (const d of events.waits) {
      expect(d).toBeGreaterThanOrEqual(50);
      expect(d).toBeLessThanOrEqual(400);
    }
    await c.stop();
  });

  it('hears CONNACK 5 after its device is revoked, which the daemon takes as revocation, and stops for good when told', async () => {
    const creds = makeDeviceCredentials(ca, 'conn-revoked');
    const { c, events, until } = connection(creds, (f) => (revocationFromRefusal(f, true) ? 'stop' : 'retry'));
    c.start();
    await until(() => events.online.length === 1);
    broker.broker.revokeDevice('conn-revoked', [creds.serial]);
    await until(() => events.closed.some((e) => e.failure?.kind === 'connack'));
    const refusal = events.closed.find((e) => e.failure?.kind === 'connack')!.failure!;
    expect(refusal).toMatchObject({ kind: 'connack', code: 5 });
    expect(revocationFromRefusal(refusal, true)).toMatchObject({ source: 'connection-refused' });
    // Stopped: no further attempt however long we wait for the next backoff step.
    const attempts = events.closed.length;
    await new Promise((r) => setTimeout(r, 600));
    expect(events.closed.length).toBe(attempts);
    expect(c.online).toBe(false);
  });

  it('does not take a refusal as revocation while its own certificate has expired', async () => {
    const creds = makeDeviceCredentials(ca, 'conn-expired', { expired: true });
    const { c, events, until } = connection(creds, () => 'stop');
    c.start();
    await until(() => events.closed.length === 1);
    const failure = events.closed[0]!.failure;
    expect(failure?.kind).toBe('connack');
    expect(revocationFromRefusal(failure, false)).toBeUndefined();
    expect(revocationFromRefusal({ kind: 'network', message: 'ECONNREFUSED' }, true)).toBeUndefined();
    expect(revocationFromRefusal({ kind: 'tls-alert', alert: 'certificate-revoked', message: 'x' }, true)).toMatchObject({ source: 'connection-refused' });
    await c.stop();
  });

  it('refuses a server whose certificate is not from the fleet CA (network failure, never revocation)', async () => {
    const other = await makeFleetCa('Other CA');
    const creds = makeDeviceCredentials(ca, 'conn-wrong-ca');
    const { c, events, until } = connection(creds, () => 'stop', {
      credentials: async () => ({ clientId: creds.deviceId, keyPem: creds.keyPem, certificatePem: creds.certPem, caPem: other.certificatePem }),
    });
    c.start();
    await until(() => events.closed.length === 1);
    expect(events.online).toEqual([]);
    expect(events.closed[0]!.failure?.kind).toBe('network');
    expect(revocationFromRefusal(events.closed[0]!.failure, true)).toBeUndefined();
    await c.stop();
  });
});

describe('revocation judgement', () => {
  // generateKeyPair (tpm2-ts): signing and judging export the keys for their key ids, which can deadlock in Node 20 for keys straight from node's generation.
  const serverKey = generateKeyPair({ type: 'ec', namedCurve: 'P-256' });
  const forger = generateKeyPair({ type: 'ec', namedCurve: 'P-256' });
  const event = (deviceId: string, key = serverKey.privateKey, serials = ['0a1b']) =>
    signRevocation({ v: 1, deviceId, serials, reason: 'contraindicated', message: 'model changed', revokedAt: Date.now() }, key);

  it('acts on a fleet event only when it names this device and a trusted key signed it', () => {
    const self = { deviceId: 'cam-1', serial: 'ffee' };
    expect(judgeFleetEvent(event('cam-1'), self, [serverKey.publicKey])).toMatchObject({ kind: 'revoked', notice: { source: 'fleet-event' } });
    expect(judgeFleetEvent(event('cam-2'), self, [serverKey.publicKey])).toEqual({ kind: 'other-device' });
    expect(judgeFleetEvent(event('cam-1', forger.privateKey), self, [serverKey.publicKey])).toEqual({ kind: 'bad-signature' });
    expect(judgeFleetEvent(event('cam-9', serverKey.privateKey, ['ffee']), self, [serverKey.publicKey]).kind).toBe('revoked');
    const tampered = { ...event('cam-1'), reason: 'admin' as const };
    expect(judgeFleetEvent(tampered, self, [serverKey.publicKey])).toEqual({ kind: 'bad-signature' });
    expect(encodeRevocation(event('cam-1')).length).toBeGreaterThan(0);
  });

  it('reads revocation from results: a device-revoked error or a revoked reason code, not a contraindicated verdict alone', () => {
    expect(revocationFromResult({ v: 1, ok: false, error: 'device-revoked', message: 'revoked at 12:00' })).toMatchObject({ source: 'result' });
    expect(revocationFromResult({ v: 1, ok: false, error: 'overloaded', message: 'busy' })).toBeUndefined();
    const verdict = (code: string, status: 'contraindicated' | 'affirming') => ({
      v: 1 as const,
      ok: true as const,
      challengeId: 'AAAAAAAAAAAAAAAAAAAAAA',
      verdict: {
        eat_profile: 'tag:github.com,2023:veraison/ear' as const,
        iat: 1,
        'ear.verifier-id': { developer: 'vigil', build: 't' },
        submods: { identity: { 'ear.status': status, 'vigil.reasons': [{ code, message: 'm' }] } },
        'vigil.device-id': 'cam-1',
      },
    });
    expect(revocationFromResult(verdict('device-revoked', 'contraindicated'))).toMatchObject({ source: 'result' });
    expect(revocationFromResult(verdict('model-digest-not-allowed', 'contraindicated'))).toBeUndefined();
    expect(revocationFromResult(verdict('unrevokedness', 'affirming'))).toBeUndefined();
  });
});
