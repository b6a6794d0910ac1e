import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../../test/harness/broker.js';
import { makeDeviceCredentials, makeFleetCa, makeTempDir, writeCredentials } from '../../test/harness/pki.js';
import type { InboundMessage } from '../src/broker/index.js';

/**
 * Standard MQTT clients (mosquitto_pub / mosquitto_sub, MQTT 3.1.1, their own
 * TLS stack) with an issued device certificate: accepted on the device's own
 * topics, held to the same rules as everyone else.
 */
let t: TestBroker;
let tmp: { path: string; cleanup: () => Promise<void> };
let common: string[];
let credsArgs: string[];
const children: ChildProcess[] = [];
const inbound: InboundMessage[] = [];
const waiters: Array<() => void> = [];

interface Run {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly exited: Promise<number | null>;
  /** Resolves with the first stdout line matching. */
  line(match: RegExp): Promise<string>;
}

function mosquitto(command: 'mosquitto_sub' | 'mosquitto_pub', args: string[]): Run {
  // stdbuf: mosquitto's -d debug lines go through block-buffered stdio when piped.
  const child = spawn('stdbuf', ['-oL', command, ...common, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const stdout: string[] = [];
  const pending: Array<{ match: RegExp; resolve: (l: string) => void }> = [];
  const onLine = (l: string) => {
    stdout.push(l);
    for (const p of pending.filter((p) => p.match.test(l))) {
      pending.splice(pending.indexOf(p), 1);
      p.resolve(l);
    }
  };
  createInterface({ input: child.stdout! }).on('line', onLine);
  createInterface({ input: child.stderr! }).on('line', onLine);
  return {
    child,
    stdout,
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    line(match) {
      const found = stdout.find((l) => match.test(l));
      return found !== undefined ? Promise.resolve(found) : new Promise((resolve) => pending.push({ match, resolve }));
    },
  };
}

beforeAll(async () => {
  tmp = await makeTempDir('vigil-mosquitto-');
  const ca = await makeFleetCa();
  t = await startTestBroker(ca);
  t.broker.onMessage((m) => {
    inbound.push(m);
    for (const w of waiters.splice(0)) w();
  });
  const caFile = join(tmp.path, 'ca.pem');
  await writeFile(caFile, ca.certificatePem);
  const device = await writeCredentials(tmp.path, 'cam-m', makeDeviceCredentials(ca, 'cam-m'));
  common = ['-h', 'localhost', '-p', String(t.port), '-V', 'mqttv311', '--cafile', caFile];
  credsArgs = ['--cert', device.certPath, '--key', device.keyPath];
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await t.broker.close();
  await tmp.cleanup();
});

describe('mosquitto clients with an issued device certificate', () => {
  it('mosquitto_sub receives the device\'s own challenge; mosquitto_pub delivers its evidence with the certificate identity', async () => {
    const sub = mosquitto('mosquitto_sub', [...credsArgs, '-i', 'cam-m', '-t', 'vigil/v1/devices/cam-m/challenge', '-C', '1', '-d']);
    await sub.line(/received SUBACK/);
    await t.broker.publish('vigil/v1/devices/cam-m/challenge', 'nonce-from-server');
    await sub.line(/^nonce-from-server$/);
    expect(await sub.exited).toBe(0);

    const arrived = new Promise<void>((resolve) => waiters.push(resolve));
    const pub = mosquitto('mosquitto_pub', [...credsArgs, '-i', 'cam-m', '-t', 'vigil/v1/devices/cam-m/evidence', '-m', '{"v":1}', '-q', '1']);
    expect(await pub.exited).toBe(0);
    await arrived;
    expect(inbound.at(-1)).toMatchObject({ identity: { kind: 'device', deviceId: 'cam-m' }, topic: 'vigil/v1/devices/cam-m/evidence' });
    expect(inbound.at(-1)!.payload.toString()).toBe('{"v":1}');
  });

  it('is refused another device\'s topics, wildcards, a foreign client id and no certificate', async () => {
    const pub = mosquitto('mosquitto_pub', [...credsArgs, '-i', 'cam-m', '-t', 'vigil/v1/devices/other/evidence', '-m', 'x', '-q', '1']);
    expect(await pub.exited).not.toBe(0);
    await t.logs.waitFor((l) => l.reason === 'publish-denied' && l.topic === 'vigil/v1/devices/other/evidence');

    const sub = mosquitto('mosquitto_sub', [...credsArgs, '-i', 'cam-m', '-t', '#', '-C', '1']);
    await sub.line(/denied/i);
    sub.child.kill('SIGTERM');
    await sub.exited;
    expect(t.logs.lines.some((l) => l.reason === 'subscribe-denied' && l.filter === '#' && l.deviceId === 'cam-m')).toBe(true);

    const wrongId = mosquitto('mosquitto_pub', [...credsArgs, '-i', 'cam-x', '-t', 'vigil/v1/devices/cam-x/evidence', '-m', 'x']);
    expect(await wrongId.exited).not.toBe(0);
    expect(wrongId.stdout.join('\n')).toMatch(/identifier rejected/i);
    await t.logs.waitFor((l) => l.reason === 'client-id-mismatch' && l.clientId === 'cam-x');

    const anonymous = mosquitto('mosquitto_pub', ['-i', 'cam-m', '-t', 'vigil/v1/devices/cam-m/evidence', '-m', 'x']);
    expect(await anonymous.exited).not.toBe(0);
    await t.logs.waitFor((l) => l.reason === 'no-certificate');
  });
});
