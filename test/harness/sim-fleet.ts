/**
 * A small fleet simulator for the reliability and adversarial tests: devices
 * whose TPM is software (an ECC P-256 AK held by node:crypto) but whose
 * evidence is byte for byte what a TPM sends — a real TPMS_ATTEST of type
 * TPM_ST_ATTEST_QUOTE and a TPMT_SIGNATURE, marshalled by @vigil/tpm2-ts —
 * over real mutual-TLS MQTT to the real server. Hundreds of them fit in one
 * test process, which a swtpm per device would not.
 *
 * Enrollment is not simulated: it needs a real EK and ActivateCredential
 * (see test/enrollment-*.test.ts). Simulated devices are registered straight
 * in the store with `enrollSimDevices` (one token use each, a fleet-CA
 * certificate for a shared TLS key, the software AK's TPM2B_PUBLIC), which is
 * what the registrar commits after a successful enrollment.
 *
 * A simulated device reports all-zero PCR values and sends no logs: that is
 * what a TPM whose PCRs nothing extended quotes, and it replays (every PCR
 * governed by the absent boot log must be zero), so with no policy the
 * verdict is affirming. Tests that need a failing device tamper with one
 * evidence message (see `hostile-evidence.ts`).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import {
  decodeChallenge,
  decodeResult,
  decodeRevocation,
  encodeChallengeRequest,
  encodeEvidence,
  ProtocolError,
  topics,
  type AttestationChallenge,
  type AttestationResult,
  type Evidence,
  type PcrSelection,
  type PcrValues,
  type RevocationEvent,
} from '@vigil/protocol';
import {
  AK_TEMPLATE_ECC,
  EK_TEMPLATE_ECC_P256,
  TPM2B_PUBLIC,
  TPM_ALG,
  TPM_GENERATED_VALUE,
  TPM_ST,
  TPMS_ATTEST,
  TPMT_SIGNATURE,
  marshal,
  objectName,
  toTpmlPcrSelection,
  type PcrSelection as TpmPcrSelection,
  type TpmsAttest,
  type TpmtPublic,
  type TpmtSignature,
} from '@vigil/tpm2-ts';
import type { FleetCa } from '@vigil/server';
import { generateEnrollmentToken, hashEnrollmentToken, type Store } from '../../server/src/store/index.js';
import { startVigilServer, type RunningServer } from '../../server/src/app/index.js';
import type { ConfigOverride } from '../../server/src/config/index.js';
import { dataDir, type DataDir } from '../../server/src/datadir.js';
import { LogCapture } from './broker.js';
import { makeTempDir, sharedKeyPem } from './pki.js';

const DIGEST_BYTES: Readonly<Record<string, number>> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };
const BANK_ALG: Readonly<Record<string, number>> = { sha1: TPM_ALG.SHA1, sha256: TPM_ALG.SHA256, sha384: TPM_ALG.SHA384, sha512: TPM_ALG.SHA512 };

/** TPMS_CLOCK_INFO as a simulated TPM keeps it (Part 2 §10.11.1). */
export interface SimClock {
  clock: bigint;
  resetCount: number;
  restartCount: number;
}

/** What a quote is made of, before tests bend it. */
export interface SimQuoteParts {
  attest: TpmsAttest;
  /** The PCR values reported beside the quote (the quote's digest is over `quotedValues`). */
  pcrs: PcrValues;
}

/**
 * A TPM in software: an ECC P-256 restricted signing key shaped like the
 * TCG AK template, a made-up EK public area (its Name is the device's TPM
 * identity in the store), and a TPM clock that moves forward.
 */
export class SoftwareTpm {
  readonly akPublic: TpmtPublic;
  readonly ekPublic: TpmtPublic;
  readonly #akPrivate: KeyObject;
  readonly clock: SimClock = { clock: 1_000_000n, resetCount: 1, restartCount: 0 };
  #lastQuoteAt = Date.now();

  constructor() {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    this.#akPrivate = privateKey;
    this.akPublic = { ...AK_TEMPLATE_ECC, unique: { x: b64u(jwk.x), y: b64u(jwk.y) } };
    this.ekPublic = { ...EK_TEMPLATE_ECC_P256, unique: { x: new Uint8Array(randomBytes(32)), y: new Uint8Array(randomBytes(32)) } };
  }

  /** TPM2B_PUBLIC bytes of the AK, as enrollment records it. */
  get akPublicBytes(): Uint8Array {
    return marshal(TPM2B_PUBLIC, this.akPublic);
  }

  get ekPublicBytes(): Uint8Array {
    return marshal(TPM2B_PUBLIC, this.ekPublic);
  }

  /** TPMS_ATTEST of a quote over `values` (banks in `selection` order, indices ascending) with `nonce` as extraData. */
  quoteAttest(nonce: Uint8Array, selection: PcrSelection, values: PcrValues): TpmsAttest {
    const now = Date.now();
    this.clock.clock += BigInt(Math.max(1, now - this.#lastQuoteAt));
    this.#lastQuoteAt = now;
    const tpmSelection = toTpm(selection);
    const digest = createHash('sha256');
    for (const s of tpmSelection) {
      const bank = bankName(s.hashAlg);
      for (const p of s.pcrs) digest.update(Buffer.from((values as Record<string, Record<string, string>>)[bank]?.[String(p)] ?? '', 'hex'));
    }
    return {
      magic: TPM_GENERATED_VALUE,
      type: TPM_ST.ATTEST_QUOTE,
      qualifiedSigner: objectName(this.akPublic),
      extraData: nonce,
      clockInfo: { clock: this.clock.clock, resetCount: this.clock.resetCount, restartCount: this.clock.restartCount, safe: true },
      firmwareVersion: 0x2024_0101_0000_0001n,
      attested: { pcrSelect: toTpmlPcrSelection(tpmSelection), pcrDigest: new Uint8Array(digest.digest()) },
    };
  }

  /** Signs like TPM2_Quote with the AK's scheme: ECDSA with SHA-256 over the TPMS_ATTEST bytes. */
  sign(attestBytes: Uint8Array): TpmtSignature {
    const raw = sign('sha256', attestBytes, { key: this.#akPrivate, dsaEncoding: 'ieee-p1363' });
    return { sigAlg: TPM_ALG.ECDSA, signature: { hash: TPM_ALG.SHA256, signatureR: new Uint8Array(raw.subarray(0, 32)), signatureS: new Uint8Array(raw.subarray(32)) } };
  }

  /** A simulated reboot: resetCount up, clock from zero. */
  reboot(): void {
    this.clock.resetCount++;
    this.clock.restartCount = 0;
    this.clock.clock = 1000n;
  }
}

/** All-zero values for every PCR a selection names: what an unextended TPM quotes. */
export function zeroPcrs(selection: PcrSelection): PcrValues {
  const out: Record<string, Record<string, string>> = {};
  for (const [bank, pcrs] of Object.entries(selection)) {
    if (pcrs === undefined) continue;
    out[bank] = Object.fromEntries(pcrs.map((p) => [String(p), '00'.repeat(DIGEST_BYTES[bank]!)]));
  }
  return out as PcrValues;
}

/**
 * The evidence an honest simulated device sends for `challenge`. `bend`
 * may change the quote's parts before they are marshalled and signed
 * (e.g. the clock, the extraData, the selection), so the result is still a
 * correctly signed quote of something else.
 */
export function simEvidence(tpm: SoftwareTpm, challenge: AttestationChallenge, bend?: (parts: SimQuoteParts) => void): Evidence {
  const pcrs = zeroPcrs(challenge.pcrSelection);
  const parts: SimQuoteParts = { attest: tpm.quoteAttest(Buffer.from(challenge.nonce, 'hex'), challenge.pcrSelection, pcrs), pcrs };
  bend?.(parts);
  const attestBytes = marshal(TPMS_ATTEST, parts.attest);
  const signature = marshal(TPMT_SIGNATURE, tpm.sign(attestBytes));
  return { v: 1, challengeId: challenge.challengeId, quote: b64(attestBytes), signature: b64(signature), pcrs: parts.pcrs };
}

/** An enrolled simulated device's credentials. */
export interface SimIdentity {
  readonly deviceId: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly serial: string;
  readonly tpm: SoftwareTpm;
}

/**
 * Registers `count` simulated devices in the store as the registrar would
 * after a successful enrollment: one token (one use per device), a device
 * certificate from the fleet CA for a shared TLS key, the AK's public area.
 */
export async function enrollSimDevices(store: Store, ca: FleetCa, count: number, prefix = 'sim'): Promise<SimIdentity[]> {
  const token = generateEnrollmentToken();
  const tokenHash = hashEnrollmentToken(token);
  await store.createToken({ hash: tokenHash, maxUses: count, expiresAt: Date.now() + 3_600_000, actor: 'test:sim-fleet', label: `${prefix} fleet` });
  const keyPem = sharedKeyPem();
  const publicKey = createPrivateKey(keyPem);
  const out: SimIdentity[] = [];
  const tag = randomBytes(3).toString('hex');
  for (let i = 0; i < count; i++) {
    const deviceId = `${prefix}-${tag}-${i}`;
    const tpm = new SoftwareTpm();
    const issued = ca.issueDeviceCertificate({ publicKey, deviceId, validityMs: 3_600_000 });
    const enrolled = await store.enrollDevice({
      tokenHash,
      device: {
        id: deviceId,
        ekPublic: tpm.ekPublicBytes,
        ekName: hex(objectName(tpm.ekPublic)),
        ekCertificate: null,
        akPublic: tpm.akPublicBytes,
        akName: hex(objectName(tpm.akPublic)),
        facts: { hostname: deviceId, os: 'simulated', arch: process.arch, agentVersion: 'sim', tpm: { manufacturer: 'SIM', firmwareVersion: '1' } },
      },
      certificate: { serial: issued.serial, notBefore: issued.notBefore.getTime(), notAfter: issued.notAfter.getTime(), pem: issued.pem },
      actor: 'test:sim-fleet',
    });
    if (!enrolled.ok) throw new Error(`could not register simulated device ${deviceId}: ${enrolled.reason}`);
    out.push({ deviceId, certPem: issued.pem, keyPem, serial: issued.serial, tpm });
  }
  return out;
}

/** Messages of one kind, in arrival order; `take` awaits the first not yet taken that matches. */
export class Inbox<T> {
  readonly items: T[] = [];
  readonly #taken = new Set<T>();
  readonly #waiters: Array<{ match: (t: T) => boolean; resolve: (t: T) => void }> = [];

  push(item: T): void {
    this.items.push(item);
    const i = this.#waiters.findIndex((w) => w.match(item));
    if (i >= 0) {
      const [w] = this.#waiters.splice(i, 1);
      this.#taken.add(item);
      w!.resolve(item);
    }
  }

  take(match: (t: T) => boolean = () => true): Promise<T> {
    const found = this.items.find((t) => !this.#taken.has(t) && match(t));
    if (found !== undefined) {
      this.#taken.add(found);
      return Promise.resolve(found);
    }
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }
}

export interface SimDeviceOptions {
  /** Answer every challenge at once with honest evidence (the fleet mode). */
  readonly autoAnswer?: boolean;
  /** After each verdict, ask for the next challenge at once (continuous load). */
  readonly loop?: boolean;
  /** Reconnect after the connection drops (mqtt.js reconnect period, ms); 0 = never. */
  readonly reconnectMs?: number;
  /** Host to connect to (default localhost). */
  readonly host?: string;
}

/**
 * A simulated device on the wire: one mqtt.js client with the device
 * certificate, subscribed to its challenges, results and the fleet
 * revocations. Everything it receives is kept, so a test can tell exactly
 * which verdicts the device saw.
 */
export class SimDevice {
  readonly challenges = new Inbox<AttestationChallenge>();
  readonly results = new Inbox<AttestationResult>();
  readonly revocations = new Inbox<RevocationEvent>();
  /** Connection closes seen (drops, server restarts, revocation). */
  disconnects = 0;
  client: MqttClient | undefined;
  #stopped = false;
  readonly #answered = new Set<string>();

  constructor(
    readonly identity: SimIdentity,
    readonly options: SimDeviceOptions = {},
  ) {}

  get deviceId(): string {
    return this.identity.deviceId;
  }

  get tpm(): SoftwareTpm {
    return this.identity.tpm;
  }

  /** Verdicts (ok results) received, by challenge id. */
  verdicts(): Map<string, Extract<AttestationResult, { ok: true }>> {
    const out = new Map<string, Extract<AttestationResult, { ok: true }>>();
    for (const r of this.results.items) if (r.ok) out.set(r.challengeId, r);
    return out;
  }

  /** Connects (resolves on the first CONNACK and SUBACK) to the broker at `port`. */
  async connect(port: number, caPem: string): Promise<void> {
    this.#stopped = false;
    const client = connect({
      protocol: 'mqtts',
      host: this.options.host ?? 'localhost',
      port,
      protocolVersion: 4,
      clientId: this.deviceId,
      ca: caPem,
      cert: this.identity.certPem,
      key: this.identity.keyPem,
      rejectUnauthorized: true,
      reconnectPeriod: this.options.reconnectMs ?? 0,
      connectTimeout: 30_000,
      clean: true,
      resubscribe: true,
    } as IClientOptions);
    this.client = client;
    client.on('message', (topic: string, payload: Buffer) => this.#onMessage(topic, payload));
    client.on('close', () => this.disconnects++);
    // Like the real agent: after a reconnect, ask for a challenge (reason `reconnect`) rather than wait for the schedule.
    let connects = 0;
    client.on('connect', () => {
      if (connects++ > 0 && !this.#stopped) {
        void client.publishAsync(topics.deviceChallengeRequest(this.deviceId), Buffer.from(encodeChallengeRequest({ v: 1, reason: 'reconnect' })), { qos: 1 }).catch(() => undefined);
      }
    });
    client.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('close', () => reject(new Error(`${this.deviceId}: connection closed before CONNACK`)));
    });
    await client.subscribeAsync([topics.deviceResult(this.deviceId), topics.fleetRevocations], { qos: 1 });
    // Last: the server challenges a device as soon as it subscribes to its challenges.
    await client.subscribeAsync(topics.deviceChallenge(this.deviceId), { qos: 1 });
  }

  /** Publishes raw bytes or evidence on the device's own evidence topic (QoS 1: resolves on PUBACK). */
  async publishEvidence(payload: Evidence | Uint8Array): Promise<void> {
    const bytes = payload instanceof Uint8Array ? payload : encodeEvidence(payload);
    await this.client!.publishAsync(topics.deviceEvidence(this.deviceId), Buffer.from(bytes), { qos: 1 });
  }

  /** Asks for a challenge now. */
  async requestChallenge(): Promise<void> {
    await this.client!.publishAsync(topics.deviceChallengeRequest(this.deviceId), Buffer.from(encodeChallengeRequest({ v: 1, reason: 'manual' })), { qos: 1 });
  }

  /** A fresh challenge: one not seen before (asking for it if none comes). */
  async freshChallenge(): Promise<AttestationChallenge> {
    const seen = new Set(this.results.items.map((r) => r.challengeId));
    const next = this.challenges.take((c) => !seen.has(c.challengeId) && c.expiresAt > Date.now() + 1000);
    for (let i = 0; ; i++) {
      const got = await Promise.race([next, delay(1500).then(() => undefined)]);
      if (got !== undefined) return got;
      if (i > 20) throw new Error(`no challenge for ${this.deviceId}`);
      await this.requestChallenge();
    }
  }

  /** One honest attestation round (or a bent one): challenge → evidence → the result naming the challenge. */
  async attest(bend?: (parts: SimQuoteParts) => void): Promise<AttestationResult> {
    const challenge = await this.freshChallenge();
    await this.publishEvidence(simEvidence(this.tpm, challenge, bend));
    return this.results.take((r) => r.challengeId === challenge.challengeId);
  }

  /** Closes the connection; no reconnect. */
  close(): void {
    this.#stopped = true;
    this.client?.end(true);
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (topic === topics.deviceChallenge(this.deviceId)) {
      const c = decodeChallenge(payload);
      if (c instanceof ProtocolError) return;
      this.challenges.push(c);
      // The server re-sends an open challenge when asked again: answer each one once (a second answer is a replay).
      if (this.options.autoAnswer === true && !this.#stopped && !this.#answered.has(c.challengeId)) {
        this.#answered.add(c.challengeId);
        void this.publishEvidence(simEvidence(this.tpm, c)).catch(() => undefined);
      }
    } else if (topic === topics.deviceResult(this.deviceId)) {
      const r = decodeResult(payload);
      if (r instanceof ProtocolError) return;
      this.results.push(r);
      if (this.options.loop === true && r.ok && !this.#stopped) void this.requestChallenge().catch(() => undefined);
    } else if (topic === topics.fleetRevocations) {
      const e = decodeRevocation(payload);
      if (!(e instanceof ProtocolError)) this.revocations.push(e);
    }
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function toTpm(selection: PcrSelection): TpmPcrSelection[] {
  const out: TpmPcrSelection[] = [];
  for (const [bank, pcrs] of Object.entries(selection)) {
    if (pcrs !== undefined) out.push({ hashAlg: BANK_ALG[bank]!, pcrs: [...pcrs].sort((a, b) => a - b) });
  }
  return out;
}

function bankName(alg: number): string {
  return Object.entries(BANK_ALG).find(([, a]) => a === alg)?.[0] ?? 'unknown';
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

function b64u(s: string | undefined): Uint8Array {
  return new Uint8Array(Buffer.from(s ?? '', 'base64url'));
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** A whole server in-process for simulated devices: `vigil-server init` (the built CLI) into a temp dir, then started on a free port. */
export interface SimServer {
  readonly server: RunningServer;
  readonly paths: DataDir;
  readonly store: Store;
  readonly ca: FleetCa;
  readonly logs: LogCapture;
  readonly root: string;
  readonly port: number;
  stop(): Promise<void>;
}

const SERVER_CLI = join(import.meta.dirname, '..', '..', 'server', 'dist', 'cli', 'main.js');

/** Runs `vigil-server init` (built CLI) into `<root>/data` and returns the data directory. */
export async function initDataDir(root: string): Promise<DataDir> {
  const paths = dataDir(join(root, 'data'));
  await promisify(execFile)(process.execPath, [SERVER_CLI, 'init', '--data', paths.root, '--san', 'localhost'], { env: { ...process.env, VIGIL_PKI_CA_KEY_BITS: '2048' } });
  return paths;
}

export async function startSimServer(options: { overrides?: readonly ConfigOverride[]; paths?: DataDir; root?: string } = {}): Promise<SimServer> {
  const tmp = options.root === undefined ? await makeTempDir('vigil-sim-') : undefined;
  const root = options.root ?? tmp!.path;
  const paths = options.paths ?? (await initDataDir(root));
  const logs = new LogCapture();
  const server = await startVigilServer({
    paths,
    overrides: [
      { path: 'listen.host', value: '127.0.0.1', flag: 'test' },
      { path: 'listen.port', value: 0, flag: 'test' },
      ...(options.overrides ?? []),
    ],
    logger: logs.logger,
  });
  return {
    server,
    paths,
    store: server.context.store,
    ca: server.context.ca,
    logs,
    root,
    port: server.port,
    async stop() {
      await server.stop();
      await tmp?.cleanup();
    },
  };
}
