/**
 * The floor benchmark's ladder (bench/src/floor: `mqtt`, `mqtt-json`,
 * `mqtt-json-sqlite`) against the server's real broker over real mutual TLS,
 * with a real SQLite file: the ladder's figures say what the design's parts
 * cost at their least, so they are only worth something if each rung really
 * does that part's work. An honest device's closed loop is affirmed and
 * every verdict is in the store before the device has it; evidence that is
 * not JSON, answers another device's challenge or an old one, is signed by
 * another key or reports PCR values the quote does not cover is refused by
 * name, and the server goes on serving.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, startBroker, type Broker } from '@vigil/server';
import { marshal, TPM_ALG, TPMT_SIGNATURE } from '@vigil/tpm2-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFloorCredentials, type FloorCredentials } from '../bench/src/floor/credentials.js';
import { FloorMqttDevice } from '../bench/src/floor/device-ladder.js';
import { LADDER_REQUEST, ladderEvidence, ladderTopics, publishPayloadBytes } from '../bench/src/floor/ladder-messages.js';
import { FloorQuoter } from '../bench/src/floor/quote.js';
import { FloorLadderServer, type LadderContext } from '../bench/src/floor/server-ladder.js';
import { VARIANT_TRAITS, type FloorVariant } from '../bench/src/floor/variant.js';
import { FloorVerdictLog } from '../bench/src/floor/verdict-log.js';
import { WIRE_SIZES } from '../bench/src/floor/wire-sizes.js';
import { LeanMqttConnection, leanSecureContext, packets } from '../bench/src/fleet/lean-mqtt/index.js';

let credentials: FloorCredentials;
let dir: string;
const brokers: Broker[] = [];
const connections: LeanMqttConnection[] = [];

interface Rig {
  readonly port: number;
  readonly context: LadderContext;
}

async function ladder(variant: FloorVariant, log?: FloorVerdictLog): Promise<Rig> {
  const tls = credentials.tls!;
  const broker = await startBroker({
    host: '127.0.0.1',
    port: 0,
    caCertificatePem: tls.caPem,
    serverCertificatePem: tls.server.certPem,
    serverKeyPem: tls.server.keyPem,
    logger: createLogger({ level: 'silent' }),
  });
  brokers.push(broker);
  const aks = new Map<string, KeyObject>(credentials.devices.map((d) => [d.deviceId, createPublicKey({ key: Buffer.from(d.akSpki), format: 'der', type: 'spki' })]));
  const context: LadderContext = { traits: VARIANT_TRAITS[variant], sizes: WIRE_SIZES, aks, verdicts: {}, refusals: {}, ...(log !== undefined ? { log } : {}) };
  new FloorLadderServer(broker, context);
  return { port: broker.port, context };
}

function device(i: number) {
  const d = credentials.devices[i]!;
  const ak = createPrivateKey({ key: Buffer.from(d.akPkcs8), format: 'der', type: 'pkcs8' });
  return { deviceId: d.deviceId, ak, quoter: new FloorQuoter(createPublicKey(ak)), secureContext: leanSecureContext({ caPem: credentials.tls!.caPem, certPem: d.certPem!, keyPem: credentials.tls!.deviceKeyPem }) };
}

/** An honest device's closed loop of `rounds`: the verdict names in order. */
async function closedLoop(rig: Rig, variant: FloorVariant, i: number, rounds: number): Promise<string[]> {
  const verdicts: string[] = [];
  let closedWith: string | undefined = 'still open';
  const d = device(i);
  await new Promise<void>((resolve, reject) => {
    const dev: FloorMqttDevice = new FloorMqttDevice({
      ...d,
      host: '127.0.0.1',
      port: rig.port,
      traits: VARIANT_TRAITS[variant],
      sizes: WIRE_SIZES,
      onResult: (verdict, latencyMs, roundMs) => {
        verdicts.push(verdict);
        expect(roundMs).toBeGreaterThanOrEqual(latencyMs);
        if (verdicts.length === rounds) {
          dev.loop = false;
          dev.close();
          resolve();
        }
      },
      onClose: (reason) => (closedWith = reason),
    });
    dev.connect(10_000).then(() => {
      dev.loop = true;
      dev.ask();
    }, reject);
  });
  await new Promise((r) => setTimeout(r, 50));
  expect(closedWith).toBeUndefined(); // closed by the device, not for an error
  return verdicts;
}

/** A device that speaks the ladder's JSON by hand, so it can also speak it wrong. */
class HandPeer {
  readonly #inbox: Array<{ topic: string; json: Record<string, unknown> }> = [];
  readonly #waiters: Array<(m: { topic: string; json: Record<string, unknown> }) => void> = [];
  connection!: LeanMqttConnection;
  readonly topics;

  constructor(
    readonly port: number,
    readonly index: number,
  ) {
    this.topics = ladderTopics(credentials.devices[index]!.deviceId);
  }

  async open(): Promise<this> {
    const d = device(this.index);
    this.connection = await LeanMqttConnection.connect({
      host: '127.0.0.1',
      port: this.port,
      secureContext: d.secureContext,
      clientId: d.deviceId,
      keepaliveSeconds: 0,
      onMessage: (topic, payload) => {
        const m = { topic, json: JSON.parse(payload.toString('utf8')) as Record<string, unknown> };
        const w = this.#waiters.shift();
        if (w !== undefined) w(m);
        else this.#inbox.push(m);
      },
    });
    connections.push(this.connection);
    await this.connection.subscribe([this.topics.challenge, this.topics.result], 0);
    return this;
  }

  next(): Promise<{ topic: string; json: Record<string, unknown> }> {
    const m = this.#inbox.shift();
    return m !== undefined ? Promise.resolve(m) : new Promise((resolve) => this.#waiters.push(resolve));
  }

  async challenge(): Promise<{ challengeId: string; nonce: Buffer }> {
    this.connection.send(this.topics.request, JSON.stringify(LADDER_REQUEST), 0);
    const m = await this.next();
    expect(m.topic).toBe(this.topics.challenge);
    return { challengeId: m.json['challengeId'] as string, nonce: Buffer.from(m.json['nonce'] as string, 'hex') };
  }

  /** Publishes `payload` as evidence; the result's verdict name (`affirming`, or the failure's name). */
  async evidence(payload: string): Promise<string> {
    this.connection.send(this.topics.evidence, payload, 0);
    const m = await this.next();
    expect(m.topic).toBe(this.topics.result);
    const ok = m.json['ok'] as boolean;
    return ok ? ((m.json['verdict'] as { submods: { boot: { 'ear.status': string } } }).submods.boot['ear.status']) : (m.json['message'] as string);
  }
}

/** Honest evidence for `challenge`, signed by `key` (the device's AK unless given). */
function evidenceFor(i: number, challenge: { challengeId: string; nonce: Buffer }, key?: KeyObject, bend?: (e: ReturnType<typeof ladderEvidence>) => void): string {
  const d = device(i);
  const attest = d.quoter.quote(challenge.nonce);
  const p1363 = sign('sha256', attest, { key: key ?? d.ak, dsaEncoding: 'ieee-p1363' });
  const signature = marshal(TPMT_SIGNATURE, { sigAlg: TPM_ALG.ECDSA, signature: { hash: TPM_ALG.SHA256, signatureR: p1363.subarray(0, 32), signatureS: p1363.subarray(32) } });
  const evidence = ladderEvidence(challenge.challengeId, attest, signature);
  bend?.(evidence);
  return JSON.stringify(evidence);
}

beforeAll(async () => {
  credentials = await makeFloorCredentials(3, true);
  dir = mkdtempSync(join(tmpdir(), 'vigil-floor-ladder-'));
}, 60_000);

afterAll(async () => {
  for (const c of connections) c.destroy();
  await Promise.all(brokers.map((b) => b.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe('the floor ladder over the real broker', () => {
  it('mqtt: affirms an honest closed loop with the floor binary frames as MQTT payloads', async () => {
    const rig = await ladder('mqtt');
    expect(await closedLoop(rig, 'mqtt', 0, 15)).toEqual(Array<string>(15).fill('affirming'));
    expect(rig.context.verdicts['affirming']).toBe(15);
  });

  it('mqtt-json-sqlite: affirms an honest closed loop, each verdict stored before the device has it', async () => {
    const log = new FloorVerdictLog(join(dir, 'loop.db'));
    const rig = await ladder('mqtt-json-sqlite', log);
    expect(await closedLoop(rig, 'mqtt-json-sqlite', 0, 20)).toEqual(Array<string>(20).fill('affirming'));
    expect(log.counts()).toEqual({ uses: 20, attestations: 20 });
    expect(log.commits).toBeGreaterThan(0);
    log.close();
  });

  it('mqtt-json-sqlite: refuses by name what is not honest evidence for this device’s latest challenge, and goes on serving', async () => {
    const log = new FloorVerdictLog(join(dir, 'hostile.db'));
    const rig = await ladder('mqtt-json-sqlite', log);
    const a = await new HandPeer(rig.port, 1).open();
    const b = await new HandPeer(rig.port, 2).open();

    // Not JSON, and JSON the schema refuses.
    await a.challenge();
    expect(await a.evidence('{"v":1,')).toBe('malformedQuote');
    await a.challenge();
    expect(await a.evidence(JSON.stringify({ v: 1, challengeId: 'x' }))).toBe('malformedQuote');

    // Another device's challenge answered on this device's topic (signed by this device's AK).
    const forB = await b.challenge();
    await a.challenge();
    expect(await a.evidence(evidenceFor(1, forB))).toBe('nonceMismatch');

    // A quote signed by another key; a reported PCR value the quote's digest does not cover.
    const stranger = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    expect(await a.evidence(evidenceFor(1, await a.challenge(), stranger))).toBe('badSignature');
    const bent = evidenceFor(1, await a.challenge(), undefined, (e) => {
      e.pcrs.sha256!['7'] = 'ff'.repeat(32);
    });
    expect(await a.evidence(bent)).toBe('malformedQuote');

    // Honest evidence once: affirming and stored; the same evidence again is a replay.
    const honest = evidenceFor(1, await a.challenge());
    expect(await a.evidence(honest)).toBe('affirming');
    expect(await a.evidence(honest)).toBe('nonceMismatch');

    // A request the schema refuses gets no challenge and is counted; the next good one is served.
    a.connection.send(a.topics.request, JSON.stringify({ v: 1, reason: 'because' }), 0);
    const next = await a.challenge();
    expect(next.nonce.length).toBe(32);
    expect(rig.context.refusals['schema']).toBe(1);

    // A's attempt with B's challenge did not use it up: challenges are per device, and B's is still open.
    expect(await b.evidence(evidenceFor(2, forB))).toBe('affirming');
    expect(log.counts()).toEqual({ uses: 2, attestations: 2 });
    expect(rig.context.verdicts).toEqual({ malformedQuote: 3, nonceMismatch: 2, badSignature: 1, affirming: 2 });
    log.close();
  });

  it('the verdict log refuses a challenge used before, also after the file is reopened', async () => {
    const path = join(dir, 'reuse.db');
    const record = { challengeId: 'c'.repeat(22), deviceId: 'floor-0', expiresAt: Date.now() + 30_000, receivedAt: Date.now(), status: 'affirming', result: Buffer.from('{}') };
    const first = new FloorVerdictLog(path);
    const outcome = (log: FloorVerdictLog) => new Promise<unknown>((resolve) => log.record(record, resolve));
    expect(await outcome(first)).toBe(true);
    expect(await outcome(first)).toBe(false);
    first.close();
    const reopened = new FloorVerdictLog(path);
    expect(await outcome(reopened)).toBe(false);
    expect(reopened.counts()).toEqual({ uses: 1, attestations: 1 });
    reopened.close();
  });
});

describe('publishPayloadBytes', () => {
  const length = (topic: string, payloadBytes: number) => packets.encodePublish(packets.encodeString(topic), Buffer.alloc(payloadBytes), 0, 0).length;

  it('makes the PUBLISH the lean client writes exactly the size asked, and says so when no payload can', () => {
    const sizes = [80, 380, 874, 1475, 70_000];
    for (let s = 120; s < 140; s++) sizes.push(s);
    for (let s = 16_380; s < 16_400; s++) sizes.push(s);
    let impossible = 0;
    for (const topic of ['vigil/v1/devices/floor-1/evidence', 'vigil/v1/devices/floor-123/challenge/request', 't']) {
      for (const size of sizes) {
        // By trial: the payload sizes whose packet is `size` (a remaining-length boundary can skip one).
        const fits: number[] = [];
        for (let n = Math.max(0, size - topic.length - 12); n <= size; n++) if (length(topic, n) === size) fits.push(n);
        if (fits.length === 0) {
          impossible++;
          expect(() => publishPayloadBytes(topic, size), `${topic} ${size}`).toThrow(RangeError);
        } else {
          expect(publishPayloadBytes(topic, size), `${topic} ${size}`).toBe(fits[0]);
        }
      }
    }
    expect(impossible).toBeGreaterThan(0); // the boundaries were crossed
  });

  it('refuses a size the topic alone does not fit', () => {
    expect(() => publishPayloadBytes('vigil/v1/devices/floor-1/evidence', 20)).toThrow(RangeError);
  });
});
