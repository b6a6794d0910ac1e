import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeResult, encodeEnrollResult, overallStatus, ProtocolError, topics } from '@vigil/protocol';
import { hours } from '@vigil/server';
import { startVigilServer, type RunningServer } from '../server/src/app/index.js';
import { ExternalBroker } from '../server/src/broker-external/index.js';
import { Revocations } from '../server/src/revocation/service.js';
import { generateEnrollmentToken, hashEnrollmentToken, type Store } from '../server/src/store/index.js';
import { closed, LogCapture } from './harness/broker.js';
import { mosquittoAvailable, startMosquitto, type MosquittoBroker } from './harness/mosquitto.js';
import { makeForeignCa, sharedKeyPem, type DeviceCredentials } from './harness/pki.js';
import { postgresAvailable, startPostgres, type PostgresCluster } from './harness/postgres.js';
import { makeReplicaDirs, replicaOverrides, type ReplicaDirs } from './harness/replicas.js';
import { enrollSimDevices, SimDevice } from './harness/sim-fleet.js';

/**
 * External-broker mode against a real Mosquitto 2 (configured from
 * deploy/mosquitto/mosquitto.conf) and PostgreSQL: two verifier replicas in
 * this process share the broker through shared subscriptions and the store;
 * device access goes through the dynamic-security plugin.
 */
const available = mosquittoAvailable && postgresAvailable;

let pg: PostgresCluster;
let mq: MosquittoBroker;
let replicas: ReplicaDirs;
const servers = new Map<string, RunningServer>();
const logs = new Map<string, LogCapture>();
const clients: MqttClient[] = [];
const sims: SimDevice[] = [];
let storeUrl: string;

async function startReplica(name: string): Promise<RunningServer> {
  const capture = new LogCapture();
  logs.set(name, capture);
  const server = await startVigilServer({
    paths: replicas.dirs.get(name)!,
    overrides: replicaOverrides({ name, brokerUrl: mq.url, storeUrl, crlReloadCommand: mq.reloadCommand, heartbeatSeconds: 0.5 }),
    logger: capture.logger,
  });
  servers.set(name, server);
  return server;
}

const store = (): Store => servers.get('a')!.context.store;

/** Evidence messages a replica appraised so far (its pipeline latency histogram's count). */
async function appraised(name: string): Promise<number> {
  const metrics = await servers.get(name)!.context.metrics.registry.getMetricsAsJSON();
  const histogram = metrics.find((m) => m.name === 'vigil_verification_duration_seconds') as { values: Array<{ metricName?: string; value: number }> } | undefined;
  return histogram?.values.find((v) => v.metricName === 'vigil_verification_duration_seconds_count')?.value ?? 0;
}

/** A device as the registrar leaves it: enrolled in the store, then its (accepted) enrollment result published through replica `via`. */
async function enroll(deviceId: string, via = 'a'): Promise<DeviceCredentials> {
  const token = generateEnrollmentToken();
  await store().createToken({ hash: hashEnrollmentToken(token), maxUses: 1, expiresAt: Date.now() + 600_000, actor: 'test' });
  const keyPem = sharedKeyPem();
  const issued = replicas.ca.issueDeviceCertificate({ publicKey: createPrivateKey(keyPem), deviceId, validityMs: hours(1) });
  const hex = (s: string) => Buffer.from(s.padEnd(32, '0')).toString('hex');
  const result = await store().enrollDevice({
    tokenHash: hashEnrollmentToken(token),
    device: { id: deviceId, ekPublic: Buffer.from('ek'), ekName: '000b' + hex(deviceId), akPublic: Buffer.from('ak'), akName: '000b' + hex(deviceId + 'ak'), facts: { hostname: deviceId, os: 't', arch: 't', agentVersion: 't', tpm: { manufacturer: 't', firmwareVersion: 't' } } },
    certificate: { serial: issued.serial, notBefore: issued.notBefore.getTime(), notAfter: issued.notAfter.getTime(), pem: issued.pem },
    actor: 'test',
  });
  if (!result.ok) throw new Error(result.reason);
  await servers.get(via)!.context.broker.publish(topics.enrollResult('ab'.repeat(32)), encodeEnrollResult({ v: 1, ok: true, deviceId, certificate: issued.pem, chain: [replicas.ca.certificatePem] }));
  return { deviceId, keyPem, certPem: issued.pem, serial: issued.serial };
}

type Outcome = { kind: 'connected'; client: MqttClient } | { kind: 'refused'; message: string };

/** An MQTT 5 device client at the external broker (never reconnects by itself). */
function connectDevice(creds: { certPem: string; keyPem: string }, clientId: string, caPem = replicas.ca.certificatePem): Promise<Outcome> {
  const client = connect({
    protocol: 'mqtts',
    host: 'localhost',
    port: mq.port,
    protocolVersion: 5,
    clientId,
    ca: caPem,
    cert: creds.certPem,
    key: creds.keyPem,
    rejectUnauthorized: true,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  } as IClientOptions);
  clients.push(client);
  return new Promise((resolve) => {
    let last = '';
    client.once('connect', () => resolve({ kind: 'connected', client }));
    client.on('error', (err) => (last = err.message));
    client.once('close', () => resolve({ kind: 'refused', message: last || 'closed' }));
  });
}

async function connected(creds: { certPem: string; keyPem: string }, clientId: string): Promise<MqttClient> {
  const o = await connectDevice(creds, clientId);
  if (o.kind !== 'connected') throw new Error(`${clientId} was refused: ${o.message}`);
  return o.client;
}

/** MQTT 5 SUBACK reason codes of one subscription request. */
async function suback(client: MqttClient, filters: string[]): Promise<number[]> {
  try {
    return (await client.subscribeAsync(filters, { qos: 1 })).map((g) => g.qos);
  } catch (err) {
    // mqtt.js rejects when any reason code refuses, attaching the SUBACK.
    const granted = (err as { packet?: { granted?: unknown[] } }).packet?.granted;
    if (Array.isArray(granted)) return granted.map((g) => (typeof g === 'number' ? g : (g as { qos: number }).qos));
    throw err;
  }
}

/** MQTT 5 PUBACK reason code (0 = accepted, 16 = no subscribers, 135 = not authorized). */
async function puback(client: MqttClient, topic: string, payload: string): Promise<number> {
  try {
    const packet = (await client.publishAsync(topic, payload, { qos: 1 })) as { reasonCode?: number } | undefined;
    return packet?.reasonCode ?? 0;
  } catch (err) {
    // mqtt.js rejects a refused PUBACK with its reason code.
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number') return code;
    throw err;
  }
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  if (!available) return;
  pg = (await startPostgres())!;
  storeUrl = await pg.createDatabase('vigil');
  replicas = await makeReplicaDirs(['a', 'b']);
  mq = (await startMosquitto(replicas.ca, { replicas: ['a', 'b'] }))!;
  await startReplica('a');
  await startReplica('b');
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  for (const d of sims) d.close();
  for (const s of servers.values()) await s.stop().catch(() => undefined);
  await mq?.stop();
  await pg?.stop();
  await replicas?.cleanup();
});

describe.skipIf(!available)('external broker (Mosquitto + dynamic security) with two replicas', () => {
  it('each replica connects with its own fleet-CA certificate named vigil:verifier:<name>, and they see each other', async () => {
    for (const name of ['a', 'b']) {
      const cert = new X509Certificate(readFileSync(`${replicas.dirs.get(name)!.root}/broker-client.pem`));
      expect(cert.subject).toContain(`CN=vigil:verifier:${name}`);
      expect(cert.verify(replicas.ca.certificate.publicKey)).toBe(true);
      expect(cert.subjectAltName).toBe(`URI:urn:vigil:verifier:${name}`);
    }
    const a = servers.get('a')!.context.broker as ExternalBroker;
    const b = servers.get('b')!.context.broker as ExternalBroker;
    expect(a).toBeInstanceOf(ExternalBroker);
    await until('both replicas to see each other', () => a.replicas.length === 2 && b.replicas.length === 2);
    expect(a.replicas).toEqual(['a', 'b']);
    expect(mq.log()).toMatch(/as vigil:verifier:a /);
  });

  it('the broker refuses a client without a certificate and one from another CA', async () => {
    const noCert = await connectDevice({ certPem: '', keyPem: '' }, 'x');
    expect(noCert.kind).toBe('refused');
    const foreign = await makeForeignCa(replicas.ca);
    const keyPem = sharedKeyPem();
    const impostor = foreign.issueDeviceCertificate({ publicKey: createPrivateKey(keyPem), deviceId: 'cam-foreign', validityMs: hours(1) });
    expect((await connectDevice({ certPem: impostor.pem, keyPem }, 'cam-foreign')).kind).toBe('refused');
  });

  it('an enrolled device gets exactly its own topics; its evidence reaches one replica and the verdict comes back', async () => {
    const dev = await enroll('cam-1');
    const other = await enroll('cam-2', 'b');
    const info = await mq.ctl(['getClient', 'cam-1']);
    expect(info).toContain('vigil:device:cam-1');
    const client = await connected(dev, 'cam-1');
    // Own topics and the fleet revocations: granted; another device's and wildcards: refused (0x87).
    expect(await suback(client, [topics.deviceChallenge('cam-1'), topics.deviceResult('cam-1'), topics.fleetRevocations])).toEqual([1, 1, 1]);
    expect(await suback(client, [topics.deviceResult('cam-2'), 'vigil/v1/devices/+/result', '#', `$share/x/${topics.deviceEvidence('cam-2')}`])).toEqual([0x87, 0x87, 0x87, 0x87]);
    expect(await puback(client, topics.deviceEvidence('cam-2'), '{}')).toBe(0x87);
    expect(await puback(client, topics.deviceResult('cam-1'), '{}')).toBe(0x87);

    // Garbage evidence on its own topic: appraised by one replica each time, answered on its result topic.
    const results: Buffer[] = [];
    client.on('message', (t, p) => t === topics.deviceResult('cam-1') && results.push(p));
    const before = { a: await appraised('a'), b: await appraised('b') };
    for (let i = 0; i < 6; i++) expect(await puback(client, topics.deviceEvidence('cam-1'), `not json ${i}`)).toBe(0);
    await until('six results', () => results.length >= 6);
    await new Promise((r) => setTimeout(r, 500));
    expect(results).toHaveLength(6); // one per message: each reached exactly one replica
    const decoded = decodeResult(results[0]!);
    expect(!(decoded instanceof ProtocolError) && !decoded.ok && decoded.error).toBe('invalid-json');
    // Both replicas took a share (the broker hands shared-subscription messages out in turn).
    const share = { a: (await appraised('a')) - before.a, b: (await appraised('b')) - before.b };
    expect(share.a + share.b).toBe(6);
    expect(share.a).toBeGreaterThan(0);
    expect(share.b).toBeGreaterThan(0);
    const recorded = await store().listAttestations('cam-1', 100);
    expect(recorded.filter((r) => r.error?.code === 'invalid-json')).toHaveLength(6);
    expect(other.deviceId).toBe('cam-2');
  });

  it('revoking a device through either replica ends its session at the broker and keeps it away from every topic', async () => {
    for (const [deviceId, via] of [
      ['cam-3', 'a'],
      ['cam-4', 'b'],
    ] as const) {
      const dev = await enroll(deviceId);
      const client = await connected(dev, deviceId);
      expect(await suback(client, [topics.deviceChallenge(deviceId)])).toEqual([1]);
      const gone = closed(client);
      const r = await servers.get(via)!.context.services.get(Revocations)!.revoke(deviceId, 'admin', 'test', 'test revocation');
      expect(r.ok).toBe(true);
      await gone;
      await until('the dynamic-security client to be disabled', async () => ((await mq.ctl(['getClient', deviceId])).includes('Disabled: true') ? true : undefined));
      expect(await mq.ctl(['getClient', deviceId])).not.toContain(`vigil:device:${deviceId}`);
      // The CRL is handed to the broker: the certificate is refused at the handshake from now on.
      // Back at once, before the broker reloaded the CRL: no topic is its any more.
      const back = await connectDevice(dev, deviceId);
      if (back.kind === 'connected') {
        expect(await suback(back.client, [topics.deviceChallenge(deviceId), topics.fleetRevocations])).toEqual([0x87, 0x87]);
        expect(await puback(back.client, topics.deviceEvidence(deviceId), '{}')).toBe(0x87);
      }
      // Once the CRL is handed over, the handshake itself fails with a certificate-revoked alert.
      const refusal = await until('the broker to refuse the revoked certificate', async () => {
        const o = await connectDevice(dev, deviceId);
        return o.kind === 'refused' ? o.message : undefined;
      });
      expect(refusal).toMatch(/certificate revoked/);
    }
  });

  it('a re-enrolled device gets its access back with its new certificate only', async () => {
    const old = await enroll('cam-5');
    expect((await connected(old, 'cam-5')).connected).toBe(true);
    await servers.get('a')!.context.services.get(Revocations)!.revoke('cam-5', 'admin', 'test');
    await servers.get('b')!.context.services.get(Revocations)!.reinstate('cam-5', 'test');
    // Reinstated but not re-enrolled: no access yet.
    expect(await mq.ctl(['getClient', 'cam-5'])).toContain('Disabled: true');
    const token = generateEnrollmentToken();
    await store().createToken({ hash: hashEnrollmentToken(token), maxUses: 1, expiresAt: Date.now() + 600_000, actor: 'test' });
    const device = (await store().getDevice('cam-5'))!;
    const issued = replicas.ca.issueDeviceCertificate({ publicKey: createPrivateKey(old.keyPem), deviceId: 'cam-5', validityMs: hours(1) });
    const again = await store().enrollDevice({
      tokenHash: hashEnrollmentToken(token),
      device: { id: 'cam-5', ekPublic: device.ekPublic, ekName: device.ekName, akPublic: device.akPublic, akName: device.akName, facts: device.facts },
      certificate: { serial: issued.serial, notBefore: issued.notBefore.getTime(), notAfter: issued.notAfter.getTime(), pem: issued.pem },
      actor: 'test',
    });
    expect(again.ok).toBe(true);
    await servers.get('b')!.context.broker.publish(topics.enrollResult('cd'.repeat(32)), encodeEnrollResult({ v: 1, ok: true, deviceId: 'cam-5', certificate: issued.pem, chain: [replicas.ca.certificatePem] }));
    expect(await mq.ctl(['getClient', 'cam-5'])).not.toContain('Disabled: true');
    const fresh = await connected({ certPem: issued.pem, keyPem: old.keyPem }, 'cam-5');
    expect(await suback(fresh, [topics.deviceChallenge('cam-5')])).toEqual([1]);
    expect((await connectDevice(old, 'cam-5-old')).kind).toBe('refused');
  });

  it('a device cannot take over another device session by using its client id', async () => {
    const six = await enroll('cam-6');
    const seven = await enroll('cam-7');
    const c6 = await connected(six, 'cam-6');
    const c7 = await connected(seven, 'cam-6'); // claims cam-6's client id: the broker uses the username instead
    await new Promise((r) => setTimeout(r, 300));
    expect(c6.connected).toBe(true);
    expect(c7.connected).toBe(true);
  });

  it('a device attesting back to back gets a fresh challenge each time, while a replica stops and another starts', async () => {
    const [identity] = await enrollSimDevices(store(), replicas.ca, 1, 'loop');
    await servers.get('a')!.context.broker.publish(topics.enrollResult('ef'.repeat(32)), encodeEnrollResult({ v: 1, ok: true, deviceId: identity!.deviceId, certificate: identity!.certPem, chain: [replicas.ca.certificatePem] }));
    const device = new SimDevice(identity!, { autoAnswer: true });
    sims.push(device);
    await device.connect(mq.port, replicas.ca.certificatePem);
    const rounds: string[] = [];
    /**
     * Nothing in flight: every challenge the device received has its result. A round starts only
     * then, and takes the result that names its challenge. With an external broker a device may
     * also get one challenge it did not ask for, around its connect: the one its owner replica sends
     * when it discovers the new device (sent before the device subscribed, it is lost). Rounds used
     * to take the next result by position, so that one result more shifted every later round by
     * one: the likely cause of a CI run where the round after the stray message got its error result.
     */
    const settled = () => device.challenges.items.every((c) => device.results.items.some((r) => r.challengeId === c.challengeId));
    /** One round: ask, the challenge is answered (autoAnswer), the verdict that names it comes back — through whichever replicas the broker picks. */
    const round = async () => {
      await until('no challenge in flight', settled);
      const asked = device.challenges.items.length;
      await device.requestChallenge();
      const challenge = await until('the challenge asked for', () => device.challenges.items[asked], 15_000);
      const r = await until('its result', () => device.results.items.find((x) => x.challengeId === challenge.challengeId), 15_000);
      expect(r.ok && overallStatus(r.verdict), `round ${rounds.length + 1}: ${JSON.stringify(r).slice(0, 600)}`).toBe('affirming');
      rounds.push(challenge.challengeId);
    };
    for (let i = 0; i < 2; i++) await round();
    // One stray message on the evidence topic: the broker's turns for requests and for evidence
    // (one per shared subscription) fall out of step, so a challenge asked of one replica is
    // answered to the other, and the next request goes back to the first.
    await until('no challenge in flight', settled);
    const before = device.results.items.length;
    await device.publishEvidence(Buffer.from('not evidence'));
    const stray = await until('the stray message to be answered', () => device.results.items.slice(before).find((r) => !r.ok && r.challengeId === undefined), 15_000);
    expect(stray.ok ? null : stray.error).toBe('invalid-json');
    for (let i = 0; i < 6; i++) await round();
    // Replica b stops: it hands its share to a before its verifier closes.
    await servers.get('b')!.stop();
    servers.delete('b');
    for (let i = 0; i < 4; i++) await round();
    // ... and starts again: it takes work only once its verifier runs.
    await startReplica('b');
    for (let i = 0; i < 8; i++) await round();
    // A challenge answered through one replica is never handed out again by the other (a second answer would be a replay).
    expect(new Set(rounds).size).toBe(rounds.length);
    expect((await store().getDevice(identity!.deviceId))!.revoked).toBe(false);
  });

  it('the schedule of every device belongs to exactly one live replica, and moves when a replica leaves', async () => {
    const a = servers.get('a')!.context.broker;
    const b = servers.get('b')!.context.broker;
    const ids = Array.from({ length: 200 }, (_, i) => `dev-${i}`);
    const ownedByA = ids.filter((id) => a.isConnected({ kind: 'device', deviceId: id }));
    const ownedByB = ids.filter((id) => b.isConnected({ kind: 'device', deviceId: id }));
    expect(ownedByA.length + ownedByB.length).toBe(ids.length);
    expect(ownedByA.filter((id) => ownedByB.includes(id))).toEqual([]);
    expect(ownedByA.length).toBeGreaterThan(50);
    expect(ownedByB.length).toBeGreaterThan(50);
    await servers.get('b')!.stop();
    servers.delete('b');
    await until('replica a to be alone', () => (a as ExternalBroker).replicas.length === 1);
    expect(ids.every((id) => a.isConnected({ kind: 'device', deviceId: id }))).toBe(true);
  });
});
