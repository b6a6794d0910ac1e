/**
 * A backlog of publications must not take the broker down. aedes hands
 * every message to its mqemitter, which lets `concurrency` messages be in
 * flight and queues the rest; when the slots free up, the queue is drained
 * by synchronous recursion, and a few thousand queued messages overflow
 * the stack (RangeError in a socket callback: the server process dies).
 * Found by the `fleet` benchmark (10,000 devices connecting while slow
 * readers held the slots). Here: one device stops reading, so deliveries
 * to it wait for the socket to drain and hold their slots; meanwhile
 * thousands of other publications arrive; then it reads again.
 */
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { topics } from '@vigil/protocol';
import { connectOk, nextMessage, startTestBroker, type TestBroker } from '../../test/harness/broker.js';
import { makeDeviceCredentials, makeFleetCa } from '../../test/harness/pki.js';
import type { FleetCa } from '../src/pki/index.js';

let ca: FleetCa;
let env: TestBroker;
const clients: MqttClient[] = [];

beforeAll(async () => {
  ca = await makeFleetCa();
  env = await startTestBroker(ca);
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await env?.broker.close();
});

it('thousands of publications queued behind a device that stopped reading are all delivered, and the broker lives on', async () => {
  const slowId = 'slow-reader';
  const slow = await connectOk(env.port, ca.certificatePem, makeDeviceCredentials(ca, slowId), slowId);
  clients.push(slow);
  await slow.subscribeAsync(topics.deviceChallenge(slowId), { qos: 1 });
  const received: Buffer[] = [];
  slow.on('message', (_topic, payload) => received.push(payload));

  // The device stops reading: once the kernel buffers are full, every delivery to it waits for 'drain'.
  slow.stream.pause();
  const big = Buffer.alloc(256 * 1024, 0x61);
  const stalled = Array.from({ length: 150 }, () => env.broker.publish(topics.deviceChallenge(slowId), big, { qos: 1 }));
  // Meanwhile: publications nobody subscribes to (each completes at once when its turn comes).
  const backlog = Array.from({ length: 20_000 }, (_, i) => env.broker.publish(topics.deviceResult(`nobody-${i % 100}`), `m${i}`, { qos: 1 }));
  slow.stream.resume();

  const outcomes = await Promise.allSettled([...stalled, ...backlog]);
  expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
  // The slow device got every large message once it read again.
  await expect.poll(() => received.length, { timeout: 60_000 }).toBe(stalled.length);

  // And the broker still serves: a new device gets what is published to it.
  const freshId = 'fresh-device';
  const fresh = await connectOk(env.port, ca.certificatePem, makeDeviceCredentials(ca, freshId), freshId);
  clients.push(fresh);
  await fresh.subscribeAsync(topics.deviceChallenge(freshId), { qos: 1 });
  const next = nextMessage(fresh, topics.deviceChallenge(freshId));
  await env.broker.publish(topics.deviceChallenge(freshId), 'still here', { qos: 1 });
  expect((await next).toString()).toBe('still here');
});
