/**
 * Issue 9, identity attacks against the whole server (not only the broker:
 * see server/test/broker.test.ts for each refusal in isolation). Device X
 * is the attacker, holding its own valid fleet certificate (root on one
 * device); device Y is the victim. Each attack must fail at the right layer
 * and leave Y's standing, its open challenge and its verdicts untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@vigil/protocol';
import { closed, connectClient, subscribeResult } from './harness/broker.js';
import { makeForeignCa, makeDeviceCredentials } from './harness/pki.js';
import { simEvidence, SimDevice, startSimServer, type SimServer } from './harness/sim-fleet.js';
import { connectSimDevice } from './harness/sim-devices.js';
import { resultCodes } from './harness/verdicts.js';

let env: SimServer;
const devices: SimDevice[] = [];

const device = (): Promise<SimDevice> => connectSimDevice(env, 'ident', devices);

beforeAll(async () => {
  env = await startSimServer({ overrides: [{ path: 'attestation.intervalSeconds', value: 3600, flag: 'test' }] });
});

afterAll(async () => {
  for (const d of devices) d.close();
  await env?.stop();
});

describe('a device speaking for another', () => {
  it('publishing evidence on the victim’s topic: the attacker is disconnected, nothing is recorded for the victim, whose challenge stays open', async () => {
    const [x, y] = [await device(), await device()];
    const challenge = await y.freshChallenge();
    const forged = simEvidence(y.tpm, challenge);
    const gone = closed(x.client!);
    x.client!.publish(topics.deviceEvidence(y.deviceId), Buffer.from(JSON.stringify(forged)), { qos: 1 });
    await gone;
    await env.logs.waitFor((l) => l.reason === 'publish-denied' && l.deviceId === x.deviceId && l.topic === topics.deviceEvidence(y.deviceId));
    expect(await env.store.listAttestations(y.deviceId, 10)).toEqual([]);
    // The victim answers its own challenge afterwards: it was not consumed by the attempt.
    await y.publishEvidence(forged);
    expect(resultCodes(await y.results.take((r) => r.challengeId === challenge.challengeId))).toEqual([]);
  });

  it('reusing the victim’s valid evidence on its own topic: challenge-other-device, the attacker is revoked, the victim’s challenge is untouched', async () => {
    const [x, y] = [await device(), await device()];
    const challenge = await y.freshChallenge();
    const victims = simEvidence(y.tpm, challenge);
    await x.publishEvidence(victims);
    const result = await x.results.take((r) => r.challengeId === challenge.challengeId);
    expect(resultCodes(result)).toEqual(['identity/challenge-other-device']);
    await closed(x.client!);
    expect((await env.store.getDevice(x.deviceId))?.revoked).toBe(true);
    // Y never saw X's result, and its own answer is still good.
    expect(y.results.items.filter((r) => r.challengeId === challenge.challengeId)).toEqual([]);
    await y.publishEvidence(victims);
    expect(resultCodes(await y.results.take((r) => r.challengeId === challenge.challengeId))).toEqual([]);
    expect((await env.store.getDevice(y.deviceId))?.revoked).toBe(false);
  });

  it('answering its own challenge with a quote the victim’s TPM made for that nonce: bad-signature (the AK is bound at enrollment)', async () => {
    const [x, y] = [await device(), await device()];
    const challenge = await x.freshChallenge();
    await x.publishEvidence(simEvidence(y.tpm, challenge));
    expect(resultCodes(await x.results.take((r) => r.challengeId === challenge.challengeId))).toEqual(['identity/bad-signature']);
    await closed(x.client!);
    expect((await env.store.getDevice(y.deviceId))?.revoked).toBe(false);
  });
});

describe('connecting as another', () => {
  it('a client id naming the victim (its own certificate): CONNACK 2, and the victim’s live session is not taken over', async () => {
    const [x, y] = [await device(), await device()];
    x.close();
    const outcome = await connectClient(env.port, env.ca.certificatePem, { certPem: x.identity.certPem, keyPem: x.identity.keyPem }, { clientId: y.deviceId });
    expect(outcome.kind).toBe('refused');
    expect(outcome.kind === 'refused' && outcome.code).toBe(2);
    await env.logs.waitFor((l) => l.reason === 'client-id-mismatch' && l.clientId === y.deviceId && l.deviceId === x.deviceId);
    // MQTT would let a second connection with the same client id take the session over; here Y is still on.
    expect(y.client!.connected).toBe(true);
    expect(resultCodes(await y.attest())).toEqual([]);
  });

  it('a certificate naming the victim from another CA with the fleet CA’s very name: refused at the handshake, the victim unaffected', async () => {
    const y = await device();
    const foreign = await makeForeignCa(env.ca);
    const impostor = makeDeviceCredentials(foreign, y.deviceId);
    const outcome = await connectClient(env.port, env.ca.certificatePem, impostor, { clientId: y.deviceId });
    expect(outcome.kind).not.toBe('connected');
    await env.logs.waitFor((l) => l.reason === 'untrusted-issuer' && typeof l.subject === 'string' && (l.subject as string).includes(y.deviceId));
    expect(y.client!.connected).toBe(true);
    expect(resultCodes(await y.attest())).toEqual([]);
  });
});

describe('listening to others', () => {
  it('subscriptions to #, +/+/#, $SYS/# and the victim’s topics are refused (SUBACK 0x80); the attacker receives nothing while the victim attests', async () => {
    const [x, y] = [await device(), await device()];
    const received: string[] = [];
    x.client!.on('message', (topic: string) => received.push(topic));
    for (const filter of ['#', '+/+/#', '$SYS/#', 'vigil/v1/devices/+/result', topics.deviceResult(y.deviceId), topics.deviceChallenge(y.deviceId), '$share/g/vigil/v1/devices/+/evidence']) {
      expect(await subscribeResult(x.client!, filter), filter).toBe(128);
    }
    expect(resultCodes(await y.attest())).toEqual([]);
    // X's own traffic still flows (after Y's, on the same broker): whatever reached X is its own.
    expect(resultCodes(await x.attest())).toEqual([]);
    expect(received.every((t) => t.includes(`/${x.deviceId}/`) || t === topics.fleetRevocations)).toBe(true);
    expect(received.some((t) => t.includes(y.deviceId))).toBe(false);
  });

  it('a retained message on a device topic is refused and leaves nothing for later subscribers', async () => {
    const x = await device();
    const gone = closed(x.client!);
    x.client!.publish(topics.deviceEvidence(x.deviceId), Buffer.from('{"v":1}'), { qos: 1, retain: true });
    await gone;
    await env.logs.waitFor((l) => l.reason === 'retain-denied' && l.deviceId === x.deviceId);
    // Reconnected, the device receives no retained message on any of its topics: only what the server sends now.
    const again = new SimDevice(x.identity);
    devices.push(again);
    const retained: string[] = [];
    await again.connect(env.port, env.ca.certificatePem);
    again.client!.on('packetreceive', (p: { cmd: string; retain?: boolean; topic?: string }) => {
      if (p.cmd === 'publish' && p.retain === true) retained.push(p.topic ?? '');
    });
    expect(resultCodes(await again.attest())).toEqual([]);
    expect(retained).toEqual([]);
  });
});
