import { createPublicKey } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  makeBootstrapCredentials,
  makeCaIssuedWithoutDeviceSan,
  makeDeviceCredentials,
  makeFleetCa,
  makeForeignCa,
  type DeviceCredentials,
} from '../../test/harness/pki.js';
import { closed, connectClient, connectOk, nextMessage, startTestBroker, subscribeResult, type TestBroker } from '../../test/harness/broker.js';
import type { InboundMessage } from '../src/broker/index.js';
import { MemoryRevocationList } from '../src/broker/index.js';
import type { FleetCa } from '../src/pki/index.js';

const MAX_PACKET = 64 * 1024;
const BURST = 30;

let ca: FleetCa;
let t: TestBroker;
const inbound: InboundMessage[] = [];
const clients: MqttClient[] = [];
/** Revoked before the broker started: stands for the store's list injected at start. */
let revokedAtStart: DeviceCredentials;

function track(client: MqttClient): MqttClient {
  clients.push(client);
  return client;
}

const inboundWaiters: Array<{ count: number; resolve: () => void }> = [];

/** Resolves once the broker has handed `count` messages in total to onMessage. */
function inboundCount(count: number): Promise<void> {
  if (inbound.length >= count) return Promise.resolve();
  return new Promise((resolve) => inboundWaiters.push({ count, resolve }));
}

const dev = (id: string) => `vigil/v1/devices/${id}`;
const enroll = (id: string) => `vigil/v1/enroll/${id}`;

beforeAll(async () => {
  ca = await makeFleetCa();
  revokedAtStart = makeDeviceCredentials(ca, 'revoked-at-start');
  t = await startTestBroker(ca, {
    limits: { maxPacketBytes: MAX_PACKET, maxBootstrapPacketBytes: 16 * 1024, publishBurst: BURST, publishRatePerSecond: 1 },
    revocations: new MemoryRevocationList({ serials: [revokedAtStart.serial] }),
  });
  t.broker.onMessage((m) => {
    inbound.push(m);
    for (const w of inboundWaiters.filter((w) => inbound.length >= w.count)) {
      inboundWaiters.splice(inboundWaiters.indexOf(w), 1);
      w.resolve();
    }
  });
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await t.broker.close();
});

describe('accepted clients', () => {
  it('a device publishes to and subscribes on its own topics; the server sees its certificate identity', async () => {
    const creds = makeDeviceCredentials(ca, 'cam-1');
    const client = track(await connectOk(t.port, ca.certificatePem, creds, 'cam-1'));
    expect(t.broker.isConnected({ kind: 'device', deviceId: 'cam-1' })).toBe(true);
    for (const topic of [`${dev('cam-1')}/challenge`, `${dev('cam-1')}/result`, 'vigil/v1/fleet/revocations']) {
      expect(await subscribeResult(client, topic)).toBe(1);
    }
    const before = inbound.length;
    await client.publishAsync(`${dev('cam-1')}/evidence`, '{"v":1}', { qos: 1 });
    await client.publishAsync(`${dev('cam-1')}/challenge/request`, '{"v":1,"reason":"boot"}', { qos: 1 });
    await inboundCount(before + 2);
    const [evidence, request] = inbound.slice(before);
    expect(evidence!.identity).toEqual({ kind: 'device', deviceId: 'cam-1', serial: creds.serial });
    expect(evidence!.topic).toBe(`${dev('cam-1')}/evidence`);
    expect(evidence!.payload.toString()).toBe('{"v":1}');
    expect(request!.topic).toBe(`${dev('cam-1')}/challenge/request`);

    const challenge = nextMessage(client, `${dev('cam-1')}/challenge`);
    await t.broker.publish(`${dev('cam-1')}/challenge`, 'nonce-1');
    expect((await challenge).toString()).toBe('nonce-1');
    const revocation = nextMessage(client, 'vigil/v1/fleet/revocations');
    await t.broker.publish('vigil/v1/fleet/revocations', 'event');
    expect((await revocation).toString()).toBe('event');
  });

  it('a client\'s publish reaches the handlers exactly once at QoS 0, 1 and 2, in order, and is acknowledged', async () => {
    const creds = makeDeviceCredentials(ca, 'cam-qos');
    const client = track(await connectOk(t.port, ca.certificatePem, creds, 'cam-qos'));
    const before = inbound.length;
    // publishAsync resolves at QoS 1 on PUBACK and at QoS 2 on PUBCOMP.
    await client.publishAsync(`${dev('cam-qos')}/evidence`, 'q2', { qos: 2 });
    await client.publishAsync(`${dev('cam-qos')}/evidence`, 'q1', { qos: 1 });
    await client.publishAsync(`${dev('cam-qos')}/challenge/request`, 'q0', { qos: 0 });
    await client.publishAsync(`${dev('cam-qos')}/evidence`, 'last', { qos: 1 });
    await inboundCount(before + 4);
    const mine = inbound.slice(before).filter((m) => m.identity.kind === 'device' && m.identity.deviceId === 'cam-qos');
    expect(mine.map((m) => `${m.topic.slice(dev('cam-qos').length)} ${m.payload.toString()}`)).toEqual([
      '/evidence q2',
      '/evidence q1',
      '/challenge/request q0',
      '/evidence last',
    ]);
  });

  it('a device\'s will, on its own topic, reaches the handlers with its identity when it drops', async () => {
    const creds = makeDeviceCredentials(ca, 'cam-will-ok');
    const outcome = await connectClient(t.port, ca.certificatePem, creds, {
      clientId: 'cam-will-ok',
      will: { topic: `${dev('cam-will-ok')}/challenge/request`, payload: Buffer.from('gone'), qos: 0, retain: false },
    });
    expect(outcome.kind).toBe('connected');
    if (outcome.kind !== 'connected') return;
    const before = inbound.length;
    // Dropped without DISCONNECT: the broker publishes the will (MQTT 3.1.1 §3.1.2.5).
    outcome.client.stream.destroy();
    await inboundCount(before + 1);
    const will = inbound.slice(before).find((m) => m.topic === `${dev('cam-will-ok')}/challenge/request`);
    expect(will?.identity).toEqual({ kind: 'device', deviceId: 'cam-will-ok', serial: creds.serial });
    expect(will?.payload.toString()).toBe('gone');
  });

  it('a bootstrap client (the agent\'s self-signed identity) uses its enroll topics, then connects as a device with a certificate for the same key', async () => {
    const boot = await makeBootstrapCredentials();
    const client = track(await connectOk(t.port, ca.certificatePem, boot, boot.bootstrapId));
    expect(t.broker.isConnected({ kind: 'bootstrap', bootstrapId: boot.bootstrapId })).toBe(true);
    expect(await subscribeResult(client, `${enroll(boot.bootstrapId)}/challenge`)).toBe(1);
    expect(await subscribeResult(client, `${enroll(boot.bootstrapId)}/result`)).toBe(1);
    const before = inbound.length;
    await client.publishAsync(`${enroll(boot.bootstrapId)}/request`, 'req', { qos: 1 });
    await inboundCount(before + 1);
    const message = inbound[before]!;
    expect(message.identity.kind).toBe('bootstrap');
    if (message.identity.kind !== 'bootstrap') throw new Error('unreachable');
    expect(message.identity.bootstrapId).toBe(boot.bootstrapId);
    const keyDer = createPublicKey(boot.keyPem).export({ type: 'spki', format: 'der' });
    expect(message.identity.publicKey.export({ type: 'spki', format: 'der' })).toEqual(keyDer);

    // The registrar issues the device certificate for the key proven in the bootstrap handshake.
    const result = nextMessage(client, `${enroll(boot.bootstrapId)}/result`);
    const issued = ca.issueDeviceCertificate({ publicKey: message.identity.publicKey, deviceId: 'enrolled-1' });
    await t.broker.publish(`${enroll(boot.bootstrapId)}/result`, issued.pem);
    const certPem = (await result).toString();
    client.end(true);
    const device = track(await connectOk(t.port, ca.certificatePem, { keyPem: boot.keyPem, certPem }, 'enrolled-1'));
    expect(await subscribeResult(device, `${dev('enrolled-1')}/result`)).toBe(1);
  });
});

describe('refused at the handshake or CONNECT, with the reason logged', () => {
  async function expectRefused(credentials: Parameters<typeof connectClient>[2], clientId: string, reason: string, code = 5) {
    const before = t.logs.withReason(reason).length;
    const outcome = await connectClient(t.port, ca.certificatePem, credentials, { clientId });
    expect(outcome.kind).toBe('refused');
    if (outcome.kind === 'refused') expect(outcome.code).toBe(code);
    const lines = t.logs.withReason(reason);
    expect(lines.length).toBeGreaterThan(before);
    const line = lines.at(-1)!;
    expect(line.ip).toBe('127.0.0.1');
    return line;
  }

  it('no client certificate', async () => {
    await expectRefused(undefined, 'nobody', 'no-certificate');
  });

  it('a certificate from another CA with the same subject and device SAN', async () => {
    const foreign = await makeForeignCa(ca);
    expect(foreign.certificate.subject).toBe(ca.certificate.subject);
    const creds = makeDeviceCredentials(foreign, 'cam-1');
    const line = await expectRefused(creds, 'cam-1', 'untrusted-issuer');
    expect(line.subject).toBe('CN=cam-1');
    expect(line.fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('an expired certificate', async () => {
    await expectRefused(makeDeviceCredentials(ca, 'old-cam', { expired: true }), 'old-cam', 'certificate-expired');
  });

  it('a certificate revoked in the list loaded at start', async () => {
    await expectRefused(revokedAtStart, 'revoked-at-start', 'revoked');
  });

  it('a CA-issued certificate without a device SAN', async () => {
    await expectRefused(makeCaIssuedWithoutDeviceSan(ca), 'not-a-device.example', 'no-device-identity');
  });

  it('a client id that differs from the certificate identity (CONNACK 2)', async () => {
    const line = await expectRefused(makeDeviceCredentials(ca, 'cam-7'), 'cam-8', 'client-id-mismatch', 2);
    expect(line.clientId).toBe('cam-8');
    expect(line.deviceId).toBe('cam-7');
    const boot = await makeBootstrapCredentials();
    await expectRefused(boot, 'cam-7', 'client-id-mismatch', 2);
  });

  it('a will message on a topic the client may not publish to', async () => {
    const creds = makeDeviceCredentials(ca, 'cam-will');
    const before = t.logs.withReason('will-denied').length;
    const outcome = await connectClient(t.port, ca.certificatePem, creds, {
      clientId: 'cam-will',
      will: { topic: `${dev('victim')}/evidence`, payload: Buffer.from('x'), qos: 0, retain: false },
    });
    expect(outcome.kind).toBe('refused');
    expect(t.logs.withReason('will-denied').length).toBe(before + 1);
  });

  it('revocation drops the live session now and refuses the device from then on', async () => {
    const creds = makeDeviceCredentials(ca, 'cam-doomed');
    const client = track(await connectOk(t.port, ca.certificatePem, creds, 'cam-doomed'));
    const gone = closed(client);
    expect(t.broker.revokeDevice('cam-doomed', [creds.serial])).toBe(1);
    await gone;
    const line = await t.logs.waitFor((l) => l.reason === 'revoked' && l.msg === 'session closed by server' && l.deviceId === 'cam-doomed');
    expect(line.serial).toBe(creds.serial);
    expect(t.broker.isConnected({ kind: 'device', deviceId: 'cam-doomed' })).toBe(false);
    // The same certificate, and a fresh certificate for the same device id, are both refused.
    await expectRefused(creds, 'cam-doomed', 'revoked');
    await expectRefused(makeDeviceCredentials(ca, 'cam-doomed'), 'cam-doomed', 'revoked');
    // Reinstatement lifts the device-id revocation for a new certificate only.
    t.broker.reinstateDevice('cam-doomed');
    await expectRefused(creds, 'cam-doomed', 'revoked');
    track(await connectOk(t.port, ca.certificatePem, makeDeviceCredentials(ca, 'cam-doomed'), 'cam-doomed'));
  });
});

describe('access control', () => {
  async function expectPublishDenied(credentials: Parameters<typeof connectClient>[2], clientId: string, topic: string, reason: string, retain = false) {
    const client = track(await connectOk(t.port, ca.certificatePem, credentials!, clientId));
    const gone = closed(client);
    client.publish(topic, 'x', { qos: 0, retain });
    await gone;
    const line = await t.logs.waitFor((l) => l.reason === reason && l.topic === topic && (l.deviceId === clientId || l.bootstrapId === clientId));
    expect(line.msg).toBe('client disconnected');
  }

  it('a device publishing to another device\'s topics, to server-to-device topics or to $SYS is disconnected', async () => {
    const creds = makeDeviceCredentials(ca, 'cam-2');
    for (const topic of [`${dev('other')}/evidence`, `${dev('other')}/challenge/request`, `${dev('cam-2')}/result`, `${dev('cam-2')}/challenge`, '$SYS/x', 'vigil/v1/fleet/revocations', `${dev('cam-2')}/evidence/extra`]) {
      await expectPublishDenied(creds, 'cam-2', topic, 'publish-denied');
    }
  });

  it('a device subscribing to other devices\' topics or wildcards gets SUBACK 0x80 and receives nothing from them', async () => {
    const creds = makeDeviceCredentials(ca, 'cam-3');
    const client = track(await connectOk(t.port, ca.certificatePem, creds, 'cam-3'));
    const filters = [`${dev('other')}/challenge`, '#', '+/+/#', '$SYS/#', `${dev('+')}/evidence`, 'vigil/v1/devices/#', `${dev('cam-3')}/#`, '$share/g/vigil/v1/devices/+/evidence'];
    for (const filter of filters) {
      expect(await subscribeResult(client, filter)).toBe(128);
      expect(t.logs.lines.some((l) => l.reason === 'subscribe-denied' && l.filter === filter && l.deviceId === 'cam-3')).toBe(true);
    }
    // Still connected, and only its own traffic arrives: the server's message to
    // another device is published first, the own one second; delivery per client is ordered.
    expect(await subscribeResult(client, `${dev('cam-3')}/challenge`)).toBe(1);
    const received: string[] = [];
    client.on('message', (topic) => received.push(topic));
    const own = nextMessage(client, `${dev('cam-3')}/challenge`);
    await t.broker.publish(`${dev('other')}/challenge`, 'not for you');
    await t.broker.publish(`${dev('cam-3')}/challenge`, 'for you');
    await own;
    expect(received).toEqual([`${dev('cam-3')}/challenge`]);
  });

  it('sendToDevice reaches a device only on its own topics once it subscribed to them, in order with routed messages', async () => {
    const creds = makeDeviceCredentials(ca, 'cam-send');
    expect(t.broker.sendToDevice('cam-send', `${dev('cam-send')}/challenge`, Buffer.from('before connecting'))).toBe(false);
    const client = track(await connectOk(t.port, ca.certificatePem, creds, 'cam-send'));
    const received: string[] = [];
    client.on('message', (topic, payload) => received.push(`${topic} ${payload.toString()}`));
    // Connected but not subscribed: nothing is sent, as routing would send nothing.
    expect(t.broker.sendToDevice('cam-send', `${dev('cam-send')}/challenge`, Buffer.from('before subscribing'))).toBe(false);
    expect(await subscribeResult(client, `${dev('cam-send')}/challenge`)).toBe(1);
    // Another device's topic, even named for this device's connection, is refused.
    expect(t.broker.sendToDevice('cam-send', `${dev('other')}/challenge`, Buffer.from('not yours'))).toBe(false);
    const last = nextMessage(client, `${dev('cam-send')}/challenge`);
    await t.broker.publish(`${dev('cam-send')}/challenge`, 'routed');
    expect(t.broker.sendToDevice('cam-send', `${dev('cam-send')}/challenge`, Buffer.from('direct 1'))).toBe(true);
    expect(t.broker.sendToDevice('cam-send', `${dev('cam-send')}/challenge`, Buffer.from('direct 2'))).toBe(true);
    await last;
    await expect.poll(() => received.length).toBe(3);
    expect(received).toEqual([`${dev('cam-send')}/challenge routed`, `${dev('cam-send')}/challenge direct 1`, `${dev('cam-send')}/challenge direct 2`]);
  });

  it('a bootstrap client touching device topics or another bootstrap client\'s topics is refused', async () => {
    const boot = await makeBootstrapCredentials();
    const other = '0'.repeat(64);
    for (const topic of [`${dev('cam-1')}/evidence`, `${enroll(other)}/request`, `${enroll(boot.bootstrapId)}/result`]) {
      await expectPublishDenied(boot, boot.bootstrapId, topic, 'publish-denied');
    }
    const client = track(await connectOk(t.port, ca.certificatePem, boot, boot.bootstrapId));
    for (const filter of [`${dev('cam-1')}/challenge`, `${enroll(other)}/result`, `${enroll('+')}/result`, 'vigil/v1/fleet/revocations']) {
      expect(await subscribeResult(client, filter)).toBe(128);
    }
  });

  it('a retained publish, even on the client\'s own topic, is refused', async () => {
    await expectPublishDenied(makeDeviceCredentials(ca, 'cam-4'), 'cam-4', `${dev('cam-4')}/evidence`, 'retain-denied', true);
  });
});

describe('limits', () => {
  it('an oversized packet disconnects that client only', async () => {
    const big = track(await connectOk(t.port, ca.certificatePem, makeDeviceCredentials(ca, 'cam-big'), 'cam-big'));
    const bystanderCreds = makeDeviceCredentials(ca, 'cam-bystander');
    const bystander = track(await connectOk(t.port, ca.certificatePem, bystanderCreds, 'cam-bystander'));
    const gone = closed(big);
    big.publish(`${dev('cam-big')}/evidence`, Buffer.alloc(MAX_PACKET), { qos: 0 });
    await gone;
    const line = await t.logs.waitFor((l) => l.reason === 'packet-too-large' && l.deviceId === 'cam-big');
    expect(line.limit).toBe(MAX_PACKET);
    expect(line.size).toBeGreaterThan(MAX_PACKET);
    // Just under the limit passes, from the bystander.
    const before = inbound.length;
    const topic = `${dev('cam-bystander')}/evidence`;
    await bystander.publishAsync(topic, Buffer.alloc(MAX_PACKET - 2 - 2 - Buffer.byteLength(topic) - 4), { qos: 0 });
    await bystander.publishAsync(topic, 'after', { qos: 1 });
    await inboundCount(before + 2);
    expect(inbound.slice(before).map((m) => m.identity)).toEqual([
      { kind: 'device', deviceId: 'cam-bystander', serial: bystanderCreds.serial },
      { kind: 'device', deviceId: 'cam-bystander', serial: bystanderCreds.serial },
    ]);
  });

  it('packets pipelined before CONNACK are held to the small pre-authentication limit', async () => {
    // MQTT 3.1.1 framing by hand: CONNECT then a PUBLISH larger than the bootstrap
    // limit (16 KiB here) but within the device limit, written in one go.
    const creds = makeDeviceCredentials(ca, 'cam-pipe');
    const remaining = (n: number) => {
      const out: number[] = [];
      do {
        let b = n % 128;
        n = Math.floor(n / 128);
        if (n > 0) b |= 0x80;
        out.push(b);
      } while (n > 0);
      return Buffer.from(out);
    };
    const str = (s: string) => Buffer.concat([Buffer.from([s.length >> 8, s.length & 0xff]), Buffer.from(s)]);
    const connectBody = Buffer.concat([str('MQTT'), Buffer.from([4, 0x02, 0, 60]), str('cam-pipe')]);
    const publishBody = Buffer.concat([str(`${dev('cam-pipe')}/evidence`), Buffer.alloc(20 * 1024)]);
    const bytes = Buffer.concat([Buffer.from([0x10]), remaining(connectBody.length), connectBody, Buffer.from([0x30]), remaining(publishBody.length), publishBody]);
    const socket = tlsConnect({ host: '127.0.0.1', port: t.port, servername: 'localhost', ca: ca.certificatePem, cert: creds.certPem, key: creds.keyPem });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(bytes);
    await ended;
    const line = await t.logs.waitFor((l) => l.reason === 'packet-too-large' && l.deviceId === 'cam-pipe');
    expect(line.limit).toBe(16 * 1024);
  });

  it('a bootstrap client has the smaller bootstrap packet limit', async () => {
    const boot = await makeBootstrapCredentials();
    const client = track(await connectOk(t.port, ca.certificatePem, boot, boot.bootstrapId));
    const gone = closed(client);
    client.publish(`${enroll(boot.bootstrapId)}/request`, Buffer.alloc(20 * 1024), { qos: 0 });
    await gone;
    const line = await t.logs.waitFor((l) => l.reason === 'packet-too-large' && l.bootstrapId === boot.bootstrapId);
    expect(line.limit).toBe(16 * 1024);
  });

  it('exceeding the publish rate disconnects that client only', async () => {
    const noisy = track(await connectOk(t.port, ca.certificatePem, makeDeviceCredentials(ca, 'cam-noisy'), 'cam-noisy'));
    const calm = track(await connectOk(t.port, ca.certificatePem, makeDeviceCredentials(ca, 'cam-calm'), 'cam-calm'));
    const gone = closed(noisy);
    for (let i = 0; i < BURST * 2; i++) noisy.publish(`${dev('cam-noisy')}/evidence`, String(i), { qos: 0 });
    await gone;
    await t.logs.waitFor((l) => l.reason === 'rate-exceeded' && l.deviceId === 'cam-noisy');
    const delivered = inbound.filter((m) => m.identity.kind === 'device' && m.identity.deviceId === 'cam-noisy').length;
    expect(delivered).toBeLessThanOrEqual(BURST + 1);
    const before = inbound.length;
    await calm.publishAsync(`${dev('cam-calm')}/evidence`, 'fine', { qos: 1 });
    await inboundCount(before + 1);
    expect(inbound.at(-1)!.identity).toMatchObject({ deviceId: 'cam-calm' });
    expect(t.broker.isConnected({ kind: 'device', deviceId: 'cam-calm' })).toBe(true);
  });

  it('too many bootstrap connections from one IP are refused; devices from that IP are not', async () => {
    const limited = await startTestBroker(ca, { limits: { bootstrapConnectionsPerMinute: 2 } });
    try {
      const outcomes = [];
      for (let i = 0; i < 3; i++) {
        const boot = await makeBootstrapCredentials();
        const outcome = await connectClient(limited.port, ca.certificatePem, boot, { clientId: boot.bootstrapId });
        if (outcome.kind === 'connected') outcome.client.end(true);
        outcomes.push(outcome.kind);
      }
      expect(outcomes).toEqual(['connected', 'connected', 'closed']);
      expect(limited.logs.withReason('connection-rate-exceeded')).toHaveLength(1);
      const device = await connectOk(limited.port, ca.certificatePem, makeDeviceCredentials(ca, 'cam-5'), 'cam-5');
      device.end(true);
    } finally {
      await limited.broker.close();
    }
  });
});

describe('TLS', () => {
  it('refuses TLS 1.2 by default and accepts it when configured', async () => {
    const creds = makeDeviceCredentials(ca, 'cam-tls12');
    const refused = await connectClient(t.port, ca.certificatePem, creds, { clientId: 'cam-tls12', maxVersion: 'TLSv1.2' });
    expect(refused.kind).toBe('closed');
    const tls12 = await startTestBroker(ca, { tlsMinVersion: 'TLSv1.2' });
    try {
      const outcome = await connectClient(tls12.port, ca.certificatePem, creds, { clientId: 'cam-tls12', maxVersion: 'TLSv1.2' });
      expect(outcome.kind).toBe('connected');
      if (outcome.kind === 'connected') outcome.client.end(true);
    } finally {
      await tls12.broker.close();
    }
  });

  it('disconnect() closes a session; connectedCount follows', async () => {
    const before = t.broker.connectedCount;
    const client = track(await connectOk(t.port, ca.certificatePem, makeDeviceCredentials(ca, 'cam-6'), 'cam-6'));
    expect(t.broker.connectedCount).toBe(before + 1);
    const gone = closed(client);
    expect(t.broker.disconnect({ kind: 'device', deviceId: 'cam-6' })).toBe(true);
    await gone;
    await t.logs.waitFor((l) => l.reason === 'disconnected-by-server' && l.deviceId === 'cam-6');
    expect(t.broker.disconnect({ kind: 'device', deviceId: 'cam-6' })).toBe(false);
  });
});
