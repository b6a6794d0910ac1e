/**
 * The revocation service against the real things: a SQLite store in a temp
 * dir, the mutual-TLS broker with connected devices, the CRL file (read
 * back and checked against the CA), the signed fleet event as a relying
 * party receives it, the webhook outbox. Including the crash case: a
 * revocation committed in the store whose side effects never ran is
 * completed by `applyPending` at the next start.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeRevocation, ProtocolError, topics, verifyRevocation, type RevocationEvent } from '@vigil/protocol';
import { generateKeyPair } from '@vigil/tpm2-ts';
import { closed, connectClient, connectOk, startTestBroker, type TestBroker } from '../../test/harness/broker.js';
import { makeDeviceCredentials, makeFleetCa, makeTempDir, type DeviceCredentials } from '../../test/harness/pki.js';
import { MemoryRevocationList } from '../src/broker/index.js';
import { createLogger } from '../src/log.js';
import { readCrlFile, type FleetCa } from '../src/pki/index.js';
import { CrlPublisher } from '../src/revocation/crl-publisher.js';
import { RevocationService } from '../src/revocation/service.js';
import { generateEnrollmentToken, hashEnrollmentToken, openSqliteStore, type Store } from '../src/store/index.js';

let ca: FleetCa;
let tmp: { path: string; cleanup: () => Promise<void> };
let store: Store;
let broker: TestBroker;
let list: MemoryRevocationList;
let crl: CrlPublisher;
let signingKey: KeyObject;
let publicKey: KeyObject;
let wakes: number;
let observer: MqttClient;
const events: RevocationEvent[] = [];
const clients: MqttClient[] = [];
const log = createLogger({ level: 'silent' });

function service(): RevocationService {
  return new RevocationService({ store, broker: broker.broker, revocations: list, crl, signingKey, webhook: { enabled: true, wake: () => void wakes++ }, log });
}

async function enrolled(id: string): Promise<DeviceCredentials> {
  const creds = makeDeviceCredentials(ca, id);
  const token = generateEnrollmentToken();
  await store.createToken({ hash: hashEnrollmentToken(token), maxUses: 1, expiresAt: Date.now() + 3_600_000, actor: 'test' });
  const x = new X509Certificate(creds.certPem);
  const r = await store.enrollDevice({
    tokenHash: hashEnrollmentToken(token),
    device: { id, ekPublic: new Uint8Array(8), ekName: '000b' + Buffer.from(id.padEnd(32, '.')).toString('hex'), akPublic: new Uint8Array(8), akName: '000b00', facts: { hostname: id, os: 'x', arch: 'x', agentVersion: '0', tpm: { manufacturer: 'x', firmwareVersion: '0' } } },
    certificate: { serial: creds.serial, notBefore: Date.parse(x.validFrom), notAfter: Date.parse(x.validTo), pem: creds.certPem },
    actor: 'test',
  });
  if (!r.ok) throw new Error(r.reason);
  return creds;
}

async function connected(creds: DeviceCredentials): Promise<MqttClient> {
  const c = await connectOk(broker.port, ca.certificatePem, creds, creds.deviceId);
  clients.push(c);
  return c;
}

function eventFor(deviceId: string): Promise<RevocationEvent> {
  const found = events.find((e) => e.deviceId === deviceId);
  if (found) return Promise.resolve(found);
  return new Promise((resolve) => {
    const check = (_t: string, payload: Buffer) => {
      const e = decodeRevocation(payload);
      if (!(e instanceof ProtocolError) && e.deviceId === deviceId) {
        observer.off('message', check);
        resolve(e);
      }
    };
    observer.on('message', check);
  });
}

beforeAll(async () => {
  ca = await makeFleetCa();
  // generateKeyPair (tpm2-ts): signing and verifying export the key for its key id, which can deadlock in Node 20 for a key straight from node's generation.
  const pair = generateKeyPair({ type: 'ec', namedCurve: 'P-256' });
  signingKey = pair.privateKey;
  publicKey = pair.publicKey;
});

beforeEach(async () => {
  tmp = await makeTempDir('vigil-revocation-');
  store = await openSqliteStore(join(tmp.path, 'vigil.db'));
  list = new MemoryRevocationList();
  broker = await startTestBroker(ca, { revocations: list });
  crl = new CrlPublisher({ store, ca, path: join(tmp.path, 'crl.pem'), validityMs: 86_400_000, log });
  wakes = 0;
  events.length = 0;
  observer = await connectOk(broker.port, ca.certificatePem, makeDeviceCredentials(ca, 'observer'), 'observer');
  observer.on('message', (_t, payload) => {
    const e = decodeRevocation(payload);
    if (!(e instanceof ProtocolError)) events.push(e);
  });
  await observer.subscribeAsync(topics.fleetRevocations, { qos: 1 });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  observer.end(true);
  await crl.close();
  await broker.broker.close();
  await store.close();
  await tmp.cleanup();
});


describe('revoke', () => {
  it('commits in the store, cuts the device off, signs the fleet event, reissues the CRL and queues the webhook, then marks it applied', async () => {
    const creds = await enrolled('cam-1');
    const client = await connected(creds);
    const outcome = await service().revoke('cam-1', 'admin', 'cli:alice', 'stolen from the depot');
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;

    // Store: device revoked, certificate revoked, revocation row, audit entry.
    expect((await store.getDevice('cam-1'))?.revoked).toBe(true);
    expect((await store.getCertificate(creds.serial))?.revokedAt).not.toBeNull();
    expect((await store.listAudit()).at(-1)).toMatchObject({ actor: 'cli:alice', action: 'device.revoke', details: { reason: 'admin', message: 'stolen from the depot' } });
    // Broker: the live session is closed, a new one refused.
    await closed(client);
    const again = await connectClient(broker.port, ca.certificatePem, creds, { clientId: 'cam-1' });
    expect(again.kind).not.toBe('connected');
    // The fleet event, as a relying party receives it, verifies with the server's public key.
    const event = await eventFor('cam-1');
    expect(event).toMatchObject({ deviceId: 'cam-1', reason: 'admin', message: 'stolen from the depot', serials: [creds.serial] });
    expect(verifyRevocation(event, publicKey)).toBe(true);
    expect(verifyRevocation({ ...event, reason: 'stale' }, publicKey)).toBe(false);
    // The CRL, signed by the CA, lists the certificate.
    const file = await readCrlFile(join(tmp.path, 'crl.pem'), ca);
    expect(file?.revokedSerials.has(creds.serial)).toBe(true);
    expect(file?.entries.find((e) => e.serial === creds.serial)?.reason).toBe('privilegeWithdrawn');
    // The webhook is in the outbox, once, and the dispatcher was woken.
    const outbox = await store.listWebhooks();
    expect(outbox).toHaveLength(1);
    expect(outbox[0]).toMatchObject({ eventKey: `revocation:${outcome.revocation.id}`, kind: 'revocation' });
    expect(JSON.parse(outbox[0]!.body)).toEqual({ type: 'vigil.revocation', id: `revocation:${outcome.revocation.id}`, event: outcome.event });
    expect(wakes).toBe(1);
    // Every effect applied: nothing pending.
    expect(await store.listRevocationsPendingEffects()).toEqual([]);
    expect((await store.verifyAuditChain()).ok).toBe(true);
  });

  it('refuses an unknown or already revoked device, changing nothing', async () => {
    await enrolled('cam-2');
    const s = service();
    expect(await s.revoke('ghost', 'admin', 'test')).toEqual({ ok: false, reason: 'unknown-device' });
    expect((await s.revoke('cam-2', 'contraindicated', 'verifier')).ok).toBe(true);
    const auditBefore = (await store.listAudit()).length;
    expect(await s.revoke('cam-2', 'admin', 'test')).toEqual({ ok: false, reason: 'already-revoked' });
    expect((await store.listAudit()).length).toBe(auditBefore);
    expect(await store.listWebhooks()).toHaveLength(1);
  });

  it('a contraindicated device’s certificates go on the CRL as keyCompromise; a burst of revocations all reach the CRL, its number rising', async () => {
    const ids = ['d1', 'd2', 'd3', 'd4', 'd5'];
    const creds = await Promise.all(ids.map((id) => enrolled(id)));
    const s = service();
    const before = await readCrlFile(join(tmp.path, 'crl.pem'), ca);
    await Promise.all(ids.map((id) => s.revoke(id, 'contraindicated', 'verifier')));
    const after = (await readCrlFile(join(tmp.path, 'crl.pem'), ca))!;
    for (const c of creds) expect(after.revokedSerials.has(c.serial)).toBe(true);
    expect(after.entries.every((e) => e.reason === 'keyCompromise')).toBe(true);
    expect(before).toBeUndefined();
    const d6 = await enrolled('d6');
    await s.revoke('d6', 'stale', 'staleness');
    const next = (await readCrlFile(join(tmp.path, 'crl.pem'), ca))!;
    expect(next.crlNumber).toBeGreaterThan(after.crlNumber);
    expect(next.revokedSerials.has(d6.serial)).toBe(true);
  });

  it('leaves certificates that have expired off the CRL', async () => {
    await enrolled('old');
    await store.addCertificate({ serial: 'abcdef01', deviceId: 'old', notBefore: Date.now() - 7_200_000, notAfter: Date.now() - 3_600_000, pem: 'PEM' }, 'test');
    await service().revoke('old', 'admin', 'test');
    const file = (await readCrlFile(join(tmp.path, 'crl.pem'), ca))!;
    expect(file.revokedSerials.has('abcdef01')).toBe(false);
    expect(file.revokedSerials.size).toBe(1);
  });
});

describe('cannot half-happen', () => {
  it('a revocation committed before a crash is completed at the next start: cut off, event, CRL, webhook, once', async () => {
    const creds = await enrolled('cam-9');
    const client = await connected(creds);
    // The server died right after the store transaction: no side effect ran.
    const committed = await store.revokeDevice({ deviceId: 'cam-9', reason: 'contraindicated', message: 'model tampered', actor: 'verifier' });
    expect(committed.ok).toBe(true);
    expect((await store.listRevocationsPendingEffects()).map((r) => r.deviceId)).toEqual(['cam-9']);
    expect(broker.broker.isConnected({ kind: 'device', deviceId: 'cam-9' })).toBe(true);

    // Next start.
    expect(await service().applyPending()).toBe(1);
    await closed(client);
    expect((await connectClient(broker.port, ca.certificatePem, creds, { clientId: 'cam-9' })).kind).not.toBe('connected');
    const event = await eventFor('cam-9');
    expect(verifyRevocation(event, publicKey)).toBe(true);
    expect(event).toMatchObject({ reason: 'contraindicated', message: 'model tampered' });
    expect((await readCrlFile(join(tmp.path, 'crl.pem'), ca))?.revokedSerials.has(creds.serial)).toBe(true);
    expect(await store.listWebhooks()).toHaveLength(1);
    expect(await store.listRevocationsPendingEffects()).toEqual([]);

    // Applying the same revocation's effects again (a crash after the webhook, before the mark) queues nothing twice.
    const record = (await store.listRevocations('cam-9'))[0]!;
    await service().applyEffects(record);
    expect(await store.listWebhooks()).toHaveLength(1);
    expect(await service().applyPending()).toBe(0);
  });

  it('a device reinstated before its pending effects ran keeps its certificates on the CRL but is not cut off again', async () => {
    const creds = await enrolled('cam-7');
    await store.revokeDevice({ deviceId: 'cam-7', reason: 'admin', actor: 'cli:bob' });
    await store.reinstateDevice({ deviceId: 'cam-7', actor: 'cli:bob' });
    await service().applyPending();
    expect((await readCrlFile(join(tmp.path, 'crl.pem'), ca))?.revokedSerials.has(creds.serial)).toBe(true);
    // The old certificate stays refused; a new one (after re-enrollment) connects: the device id is not refused.
    expect((await connectClient(broker.port, ca.certificatePem, creds, { clientId: 'cam-7' })).kind).not.toBe('connected');
    const fresh = makeDeviceCredentials(ca, 'cam-7');
    const c = await connected(fresh);
    expect(c.connected).toBe(true);
  });
});

describe('reinstate', () => {
  it('lifts the device-id refusal in the broker and the server’s list; the old certificate stays refused', async () => {
    const creds = await enrolled('cam-3');
    list.revoke('cam-3', []); // as the server loads it from the store at start
    const s = service();
    await s.revoke('cam-3', 'admin', 'test');
    expect(await s.reinstate('ghost', 'test')).toEqual({ ok: false, reason: 'unknown-device' });
    const reinstated: string[] = [];
    s.onChange({ reinstated: (id) => reinstated.push(id) });
    expect(await s.reinstate('cam-3', 'cli:alice', 'false alarm')).toEqual({ ok: true });
    expect(reinstated).toEqual(['cam-3']);
    expect(list.isDeviceRevoked('cam-3')).toBe(false);
    expect((await store.getDevice('cam-3'))).toMatchObject({ revoked: false, status: 'none', reenrollAllowed: true });
    expect((await connectClient(broker.port, ca.certificatePem, creds, { clientId: 'cam-3' })).kind).not.toBe('connected');
    const renewed = makeDeviceCredentials(ca, 'cam-3');
    expect((await connected(renewed)).connected).toBe(true);
    expect(await s.reinstate('cam-3', 'test')).toEqual({ ok: false, reason: 'not-revoked' });
  });
});
