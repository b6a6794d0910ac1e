/**
 * Staleness on a fast schedule: a device that stops answering its
 * challenges turns `warning` after K intervals without a verified
 * attestation, and is revoked (reason `stale`) once the grace period has
 * passed — session closed, signed fleet event, audit entries. Real server,
 * broker, swtpm and registrar; only the intervals are short.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeRevocation, ProtocolError, topics, verifyRevocation, type RevocationEvent } from '@vigil/protocol';
import { startAttestationServer, TestDevice, verdictOf, type AttestationServer } from './harness/attestation.js';
import { closed, connectOk } from './harness/broker.js';
import { makeDeviceCredentials } from './harness/pki.js';
import { startSwtpm, type SwtpmInstance } from './harness/swtpm.js';

let swtpm: SwtpmInstance;
let env: AttestationServer;
let device: TestDevice;

beforeAll(async () => {
  swtpm = await startSwtpm();
  env = await startAttestationServer({
    swtpm,
    overrides: [
      { path: 'attestation.intervalSeconds', value: 0.4, flag: 'test' },
      { path: 'attestation.staleAfterIntervals', value: 3, flag: 'test' },
      { path: 'attestation.staleGraceSeconds', value: 1.5, flag: 'test' },
    ],
  });
  await mkdir(join(env.root, 'models'));
  const model = join(env.root, 'models', 'm.onnx');
  await writeFile(model, randomBytes(4096));
  device = await TestDevice.create(env, swtpm, { name: 'quiet', akKind: 'rsa', models: [model] });
});

afterAll(async () => {
  await device?.close();
  await env?.stop();
  await swtpm?.stop();
});

it('a device that stops answering turns warning, then is revoked as stale after the grace period', async () => {
  // A relying party listening to the fleet feed (any fleet certificate may).
  const observer = await connectOk(env.server.port, env.server.context.ca.certificatePem, makeDeviceCredentials(env.server.context.ca, 'observer'), 'observer');
  const events: RevocationEvent[] = [];
  const stale = new Promise<RevocationEvent>((resolve) => {
    observer.on('message', (_topic: string, payload: Buffer) => {
      const e = decodeRevocation(payload);
      if (e instanceof ProtocolError) return;
      events.push(e);
      if (e.deviceId === device.deviceId) resolve(e);
    });
  });
  await observer.subscribeAsync(topics.fleetRevocations, { qos: 1 });

  await device.connect();
  const { result } = await device.attest();
  expect(verdictOf(result).submods.identity?.['ear.status']).toBe('affirming');
  // From now on the device is silent: the scheduler keeps challenging it (every 0.4 s), nobody answers.
  const challengesBefore = device.challenges.items.length;

  const event = await stale;
  expect(event.reason).toBe('stale');
  expect(verifyRevocation(event, await env.serverPublicKey())).toBe(true);
  await closed(device.client!);
  expect(device.challenges.items.length).toBeGreaterThan(challengesBefore);

  const record = (await env.store.getDevice(device.deviceId))!;
  expect(record.revoked).toBe(true);
  // It went through warning (audited as stale) before it was revoked, in that order.
  const audit = (await env.store.listAudit({ limit: 100_000 })).filter((e) => e.subject === `device:${device.deviceId}`);
  const warned = audit.findIndex((e) => e.action === 'device.status' && e.details['to'] === 'warning' && e.details['reason'] === 'stale');
  const revoked = audit.findIndex((e) => e.action === 'device.revoke' && e.details['reason'] === 'stale');
  expect(warned).toBeGreaterThanOrEqual(0);
  expect(revoked).toBeGreaterThan(warned);
  // The grace period was respected (the store's own timestamps; the checks run every 0.2 s, hence the allowance).
  expect(audit[revoked]!.at - audit[warned]!.at).toBeGreaterThanOrEqual(1500 - 250);
  expect((await env.store.listRevocations(device.deviceId))[0]).toMatchObject({ reason: 'stale', actor: 'staleness' });
  expect(events.filter((e) => e.deviceId === device.deviceId)).toHaveLength(1);
  observer.end(true);
}, 60_000);
