/**
 * The lean MQTT client of the load generators (bench/src/fleet/lean-mqtt,
 * `SimDevice` with `link: 'lean'`) against the real server: the embedded
 * broker behind mutual TLS, the verifier, the store, all in this process
 * (`startSimServer`). Simulated devices on the lean link attest and get
 * affirming verdicts; acknowledgements, both QoS levels of what the server
 * publishes, refused connections, reconnection after a drop and keep-alive
 * are checked on real sockets. What only a broker misbehaving can show (a
 * hostile length, packets cut into one-byte TLS records) is checked against
 * a TLS server the test scripts byte by byte.
 */
import { createPrivateKey } from 'node:crypto';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeChallengeRequest, overallStatus, topics, type AttestationChallenge, type AttestationResult } from '@vigil/protocol';
import { Revocations } from '../server/src/revocation/index.js';
import { BootImage, modelRelease, SimAttester, SoftwareTpm, type SimVerdictTiming } from '../bench/src/fleet/index.js';
import { FrameParser, LeanMqttConnection, LeanMqttError, leanSecureContext, packets, type QoS } from '../bench/src/fleet/lean-mqtt/index.js';
import { FaultProxy } from './harness/proxy.js';
import { makeDeviceCredentials, makeFleetCa, makeForeignCa, sharedKeyPem } from './harness/pki.js';
import { delay, enrollSimDevices, SimDevice, startSimServer, type SimIdentity, type SimServer } from './harness/sim-fleet.js';

let env: SimServer;
const devices: SimDevice[] = [];
const connections: LeanMqttConnection[] = [];
const proxies: FaultProxy[] = [];

beforeAll(async () => {
  env = await startSimServer({ overrides: [{ path: 'attestation.intervalSeconds', value: 3600, flag: 'test' }] });
});

afterAll(async () => {
  for (const d of devices) d.close();
  for (const c of connections) c.destroy();
  for (const p of proxies) await p.close();
  await env?.stop();
});

async function identity(prefix: string): Promise<SimIdentity> {
  const [id] = await enrollSimDevices(env.store, env.ca, 1, prefix);
  return id!;
}

function leanDevice(id: SimIdentity, options: ConstructorParameters<typeof SimDevice>[1] = {}): SimDevice {
  const d = new SimDevice(id, { link: 'lean', ...options });
  devices.push(d);
  return d;
}

/** A bare lean connection with a device's credentials, recording every message it receives (payloads copied). */
async function connectRaw(id: SimIdentity, port = env.port): Promise<{ c: LeanMqttConnection; received: Array<{ topic: string; qos: QoS; payload: Buffer }>; closed: Promise<LeanMqttError | undefined> }> {
  const received: Array<{ topic: string; qos: QoS; payload: Buffer }> = [];
  let onClose!: (e: LeanMqttError | undefined) => void;
  const closed = new Promise<LeanMqttError | undefined>((resolve) => (onClose = resolve));
  const c = await LeanMqttConnection.connect({
    host: '127.0.0.1',
    port,
    secureContext: leanSecureContext({ caPem: env.ca.certificatePem, certPem: id.certPem, keyPem: id.keyPem }),
    clientId: id.deviceId,
    keepaliveSeconds: 60,
    onMessage: (topic, payload, qos) => received.push({ topic, qos, payload: Buffer.from(payload) }),
    onClose,
  });
  connections.push(c);
  return { c, received, closed };
}

async function until(what: string, probe: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

function statusOf(r: AttestationResult): string {
  return r.ok ? overallStatus(r.verdict) : `error:${r.error}`;
}

describe('a simulated device on the lean link, against the real server', () => {
  it('attests step by step and gets an affirming verdict', async () => {
    const d = leanDevice(await identity('lean-step'));
    await d.connect(env.port, env.ca.certificatePem);
    expect(d.connected).toBe(true);
    expect(d.client).toBeUndefined(); // the mqtt.js client exists on the default link only
    expect(statusOf(await d.attest())).toBe('affirming');
    expect(statusOf(await d.attest())).toBe('affirming');
  });

  it('answers on its own as the load generator does (unvalidated, boot and model logs): affirming verdicts in a closed loop', async () => {
    const verdicts: SimVerdictTiming[] = [];
    const d = leanDevice(await identity('lean-loop'), {
      autoAnswer: true,
      loop: true,
      validate: false,
      record: false,
      platform: { bootImage: BootImage.load(), models: modelRelease() },
      onVerdict: (t) => verdicts.push(t),
    });
    await d.connect(env.port, env.ca.certificatePem); // the server challenges on subscribe; each verdict asks for the next
    await until('six verdicts', () => verdicts.length >= 6);
    d.loop = false;
    expect(new Set(verdicts.map((v) => v.outcome))).toEqual(new Set(['affirming']));
    expect(new Set(verdicts.map((v) => v.challengeId)).size).toBe(verdicts.length);
    expect(d.bootLogsSent).toBe(1); // then by digest, as the server names it
    expect(d.answered).toBeGreaterThanOrEqual(6);
  });
});

describe('the lean connection on the wire', () => {
  it('QoS 1 out: a publish resolves on the broker PUBACK, and the challenge it asked for arrives', async () => {
    const id = await identity('lean-qos1');
    const { c, received } = await connectRaw(id);
    expect(await c.subscribe([topics.deviceResult(id.deviceId)], 1)).toEqual([1]);
    const challengeTopic = topics.deviceChallenge(id.deviceId);
    expect(await c.subscribe([challengeTopic], 1)).toEqual([1]);
    await until('the challenge sent on subscribe', () => received.some((m) => m.topic === challengeTopic));
    await c.publish(topics.deviceChallengeRequest(id.deviceId), Buffer.from(encodeChallengeRequest({ v: 1, reason: 'manual' })), 1);
    await until('the re-sent challenge', () => received.filter((m) => m.topic === challengeTopic).length >= 2);
    // At the QoS the server publishes with (0 or 1; never above the subscription's, §3.8.4); QoS 1 is acknowledged (scripted broker below).
    for (const m of received) expect([0, 1]).toContain(m.qos);
  });

  it('QoS 0: subscribed at QoS 0, the challenge and the verdict come at QoS 0 and the device attests all the same', async () => {
    const id = await identity('lean-qos0');
    const { c, received } = await connectRaw(id);
    const challengeTopic = topics.deviceChallenge(id.deviceId);
    const resultTopic = topics.deviceResult(id.deviceId);
    expect(await c.subscribe([resultTopic, challengeTopic], 0)).toEqual([0, 0]);
    await until('a challenge', () => received.some((m) => m.topic === challengeTopic));
    const challenge = JSON.parse(received.find((m) => m.topic === challengeTopic)!.payload.toString()) as AttestationChallenge;
    await c.publish(topics.deviceEvidence(id.deviceId), new SimAttester(id.tpm).evidenceJson(challenge), 1);
    await until('the verdict', () => received.some((m) => m.topic === resultTopic));
    const result = JSON.parse(received.find((m) => m.topic === resultTopic)!.payload.toString()) as AttestationResult;
    expect(result.challengeId).toBe(challenge.challengeId);
    expect(statusOf(result)).toBe('affirming');
    expect(received.map((m) => m.qos)).toEqual(received.map(() => 0));
  });

  it("a QoS 1 publish the broker refuses (another device's topic) fails with the connection instead of resolving", async () => {
    const [x, y] = [await identity('lean-x'), await identity('lean-y')];
    const { c, closed } = await connectRaw(x);
    const refused = c.publish(topics.deviceEvidence(y.deviceId), '{"v":1}', 1);
    const error = await refused.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LeanMqttError);
    expect((error as LeanMqttError).code).toBe('closed');
    expect((await closed)?.code).toBe('closed');
    expect(c.connected).toBe(false);
    // Nothing more can be sent on it: a clear error, not a hang.
    await expect(c.publish(topics.deviceEvidence(x.deviceId), '{}', 1)).rejects.toMatchObject({ code: 'closed' });
  });

  it('a certificate from an unknown CA and a revoked device are refused: connect rejects with a clear error, nothing retries', async () => {
    const foreign = makeDeviceCredentials(await makeForeignCa(env.ca), 'lean-foreign-1');
    const stranger = leanDevice({ ...foreign, tpm: new SoftwareTpm() }, { reconnectMs: 50 });
    const strangerError = await stranger.connect(env.port, env.ca.certificatePem).then(
      () => undefined,
      (e: unknown) => e,
    );
    // Refused at the TLS handshake or at CONNACK (the broker's authenticate step), named either way.
    expect(strangerError).toBeInstanceOf(LeanMqttError);
    expect(['closed', 'refused']).toContain((strangerError as LeanMqttError).code);
    expect((strangerError as LeanMqttError).message).toMatch(/^lean-foreign-1: (connection closed before CONNACK|the broker refused the connection \(CONNACK: not authorized\))/);

    const id = await identity('lean-revoked');
    const revoked = await env.server.context.services.get(Revocations)!.revoke(id.deviceId, 'admin', 'test', 'lean link test');
    expect(revoked.ok).toBe(true);
    const d = leanDevice(id, { reconnectMs: 50 });
    const revokedError = await d.connect(env.port, env.ca.certificatePem).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(['closed', 'refused']).toContain((revokedError as LeanMqttError).code);
    expect((revokedError as LeanMqttError).message).toMatch(new RegExp(`^${id.deviceId}: (connection closed before CONNACK|the broker refused the connection)`));
    await delay(300);
    expect(d.disconnects).toBe(1); // the one refused attempt, no background retries
    expect(stranger.disconnects).toBe(1);
    expect(d.connected || stranger.connected).toBe(false);
  });

  it('reconnects after the connection drops, asks for a challenge at once, and attests again', async () => {
    const proxy = await FaultProxy.start(env.port);
    proxies.push(proxy);
    const verdicts: SimVerdictTiming[] = [];
    const d = leanDevice(await identity('lean-drop'), { autoAnswer: true, reconnectMs: 100, validate: false, onVerdict: (t) => verdicts.push(t) });
    await d.connect(proxy.port, env.ca.certificatePem);
    await until('the first verdict', () => verdicts.length >= 1);
    expect(proxy.cut()).toBe(1);
    await until('the drop', () => d.disconnects >= 1 && !d.connected);
    await until('a verdict after the reconnect', () => verdicts.length >= 2 && d.connected);
    expect(proxy.accepted).toBe(2);
    // The reconnect's subscription gets a challenge and so may its request: when this instant
    // software device has already answered the first by the time the server handles the request
    // (issued at the end of that turn of the event loop, after the answer's use was committed),
    // the device is owed a new one. Either way every verdict is affirming.
    expect(verdicts.length).toBeGreaterThanOrEqual(2);
    expect(new Set(verdicts.map((v) => v.outcome))).toEqual(new Set(['affirming']));
  });

  it('keep-alive: PINGREQ keeps an idle session up; a broker that stops answering is detected and the session closed', async () => {
    const proxy = await FaultProxy.start(env.port);
    proxies.push(proxy);
    const d = leanDevice(await identity('lean-idle'), { keepaliveSeconds: 1 });
    await d.connect(proxy.port, env.ca.certificatePem);
    await d.challenges.take(); // the challenge sent on subscribe: from here on the device says nothing of its own
    const up = proxy.bytes.up;
    await delay(2500); // past 1.5 x keep-alive, when the broker drops a silent client (MQTT 3.1.1 §3.1.2.10)
    expect(d.connected).toBe(true);
    expect(d.disconnects).toBe(0);
    expect(proxy.bytes.up).toBeGreaterThan(up); // PINGREQs, in TLS records
    proxy.pause('down'); // the broker's answers stop arriving
    await until('the dead session to be noticed', () => !d.connected, 5000);
    expect(d.disconnects).toBe(1);
  });
});

describe('the lean connection against a scripted broker', () => {
  interface Scripted {
    readonly port: number;
    /** Bytes the server received from the client, after CONNECT. */
    readonly fromClient: Buffer[];
    readonly clientClosed: Promise<void>;
  }
  let ca: Awaited<ReturnType<typeof makeFleetCa>>;
  const servers: Server[] = [];

  beforeAll(async () => {
    ca = await makeFleetCa('Lean Scripted CA');
  });
  afterAll(() => {
    for (const s of servers) s.close();
  });

  /** A TLS server (certificate for `localhost` from `ca`) that runs `script` once the client's CONNECT is in. */
  async function scripted(script: (socket: TLSSocket) => void): Promise<Scripted> {
    const keyPem = sharedKeyPem();
    const cert = ca.issueServerCertificate({ publicKey: createPrivateKey(keyPem), sans: ['localhost'], validityMs: 3_600_000 });
    const fromClient: Buffer[] = [];
    let markClosed!: () => void;
    const clientClosed = new Promise<void>((resolve) => (markClosed = resolve));
    const server = createServer({ key: keyPem, cert: cert.pem, ca: ca.certificatePem, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' }, (socket) => {
      socket.setNoDelay(true);
      let connected = false;
      socket.on('data', (chunk: Buffer) => {
        if (!connected) {
          connected = true;
          script(socket);
        } else fromClient.push(chunk);
      });
      socket.on('error', () => undefined);
      socket.on('close', markClosed);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as AddressInfo).port, fromClient, clientClosed };
  }

  function client(port: number, onMessage: (topic: string, payload: Buffer, qos: QoS) => void = () => undefined): { c: LeanMqttConnection; closed: Promise<LeanMqttError | undefined> } {
    const creds = makeDeviceCredentials(ca, 'scripted-1');
    let onClose!: (e: LeanMqttError | undefined) => void;
    const closed = new Promise<LeanMqttError | undefined>((resolve) => (onClose = resolve));
    const c = new LeanMqttConnection({
      host: '127.0.0.1',
      port,
      secureContext: leanSecureContext({ caPem: ca.certificatePem, certPem: creds.certPem, keyPem: creds.keyPem }),
      clientId: creds.deviceId,
      keepaliveSeconds: 0,
      maxPacketBytes: 64 * 1024,
      onMessage,
      onClose,
    });
    connections.push(c);
    return { c, closed };
  }

  const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00]);

  it('a remaining length over the bound closes the connection at once, before the body it announces', async () => {
    // 268,435,455 bytes announced, none sent: the client must close on the header, not wait or allocate.
    const s = await scripted((socket) => socket.write(Buffer.concat([CONNACK, Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f])])));
    const { c, closed } = client(s.port);
    await c.ready;
    const error = await closed;
    expect(error?.code).toBe('too-large');
    await s.clientClosed;
    expect(c.connected).toBe(false);
  });

  it('garbage instead of CONNACK fails the connect with a typed error', async () => {
    const s = await scripted((socket) => socket.write(Buffer.from([0x00, 0x00])));
    const { c } = client(s.port);
    await expect(c.ready).rejects.toMatchObject({ code: 'malformed' });
    const t = await scripted((socket) => socket.write(Buffer.from([0x20, 0x02, 0x00, 0x05])));
    await expect(client(t.port).c.ready).rejects.toMatchObject({ code: 'refused', message: expect.stringMatching(/not authorized/) });
  });

  it('reads CONNACK and a QoS 1 PUBLISH sent one byte per TLS record, and acknowledges it with a PUBACK', async () => {
    const topic = 'vigil/v1/devices/scripted-1/challenge';
    const payload = Buffer.from(JSON.stringify({ v: 1, challengeId: 'split-1', filler: 'x'.repeat(300) }));
    const publish = packets.encodePublish(packets.encodeString(topic), payload, 1, 0x0102);
    const s = await scripted((socket) => {
      for (const byte of Buffer.concat([CONNACK, publish])) socket.write(Buffer.from([byte])); // each write its own TLS record
    });
    const got: Array<{ topic: string; payload: Buffer; qos: QoS }> = [];
    const { c } = client(s.port, (t, p, qos) => got.push({ topic: t, payload: Buffer.from(p), qos }));
    await c.ready;
    await until('the message', () => got.length === 1);
    expect(got[0]!.topic).toBe(topic);
    expect(got[0]!.qos).toBe(1);
    expect(got[0]!.payload.equals(payload)).toBe(true);
    await until('the PUBACK', () => Buffer.concat(s.fromClient).length >= 4);
    const acks: number[] = [];
    new FrameParser(16, (type, _flags, body) => type === packets.PacketType.PUBACK && acks.push(packets.decodeAckId(body, 'PUBACK'))).feed(Buffer.concat(s.fromClient));
    expect(acks).toEqual([0x0102]);
  });
});
