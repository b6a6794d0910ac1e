/**
 * Test helpers for continuous attestation against the real thing: a server
 * started in-process from a data directory the built `vigil-server init`
 * made, devices enrolled through the real registrar with a real swtpm each,
 * connected over real mutual TLS, answering challenges with the agent's own
 * evidence builder.
 */
import { execFile } from 'node:child_process';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
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
  type RevocationEvent,
} from '@vigil/protocol';
import type { Tpm } from '@vigil/tpm2-ts';
import { buildEvidence, ModelMeasurementLog, type BuiltEvidence, type EvidenceSession } from '../../agent/src/attestation/index.js';
import { enroll } from '../../agent/src/enroll/index.js';
import { loadEnrolledAk, loadEnrolledIdentity, type EnrolledAk, type EnrolledIdentity } from '../../agent/src/state/index.js';
import { startVigilServer, type RunningServer } from '../../server/src/app/index.js';
import type { ConfigOverride } from '../../server/src/config/index.js';
import { dataDir, type DataDir } from '../../server/src/datadir.js';
import { generateEnrollmentToken, hashEnrollmentToken, type Store } from '../../server/src/store/index.js';
import { connectClient, connectOk, LogCapture, type ConnectOutcome } from './broker.js';
import { readFixture, replayBootLogIntoTpm } from './boot-replay.js';
import { makeTempDir } from './pki.js';
import type { SwtpmInstance } from './swtpm.js';
import { Inbox } from '../../bench/src/fleet/inbox.js';

const run = promisify(execFile);
const SERVER_CLI = join(import.meta.dirname, '..', '..', 'server', 'dist', 'cli', 'vigil-server.cjs');

export interface AttestationServer {
  readonly server: RunningServer;
  readonly paths: DataDir;
  readonly store: Store;
  readonly logs: LogCapture;
  readonly root: string;
  /** The public key revocation events are signed with (the broker certificate's). */
  serverPublicKey(): Promise<KeyObject>;
  newToken(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * `vigil-server init` (built CLI) into a temp dir, the swtpm manufacturer
 * CA as the trusted EK issuer, then the whole server in-process on a free
 * port with `overrides`. `beforeStart` may write files into the data
 * directory (e.g. a webhook CA file) and add overrides.
 */
export async function startAttestationServer(options: {
  swtpm: SwtpmInstance;
  /** Extra manufacturer CA certificates (PEM), e.g. of a `fresh` swtpm. */
  extraManufacturerCas?: readonly string[];
  overrides?: readonly ConfigOverride[];
  /** Runs after `init`, before start: may write files into the data directory and return more overrides. */
  beforeStart?: (paths: DataDir) => Promise<readonly ConfigOverride[] | void>;
}): Promise<AttestationServer> {
  const tmp = await makeTempDir('vigil-attest-');
  const paths = dataDir(join(tmp.path, 'data'));
  await run(process.execPath, [SERVER_CLI, 'init', '--data', paths.root, '--san', 'localhost'], { env: { ...process.env, VIGIL_PKI_CA_KEY_BITS: '2048' } });
  await writeFile(join(paths.root, 'tpm-manufacturers.pem'), [options.swtpm.ekCaCert, options.swtpm.ekIssuerCert, ...(options.extraManufacturerCas ?? [])].join(''));
  const more = (await options.beforeStart?.(paths)) ?? [];
  const logs = new LogCapture();
  const server = await startVigilServer({
    paths,
    overrides: [
      { path: 'listen.host', value: '127.0.0.1', flag: 'test' },
      { path: 'listen.port', value: 0, flag: 'test' },
      { path: 'enrollment.manufacturerCaFiles', value: ['tpm-manufacturers.pem'], flag: 'test' },
      ...(options.overrides ?? []),
      ...more,
    ],
    logger: logs.logger,
  });
  const store = server.context.store;
  return {
    server,
    paths,
    store,
    logs,
    root: tmp.path,
    serverPublicKey: async () => createPublicKey(await readFile(paths.serverCert, 'utf8')),
    async newToken() {
      const token = generateEnrollmentToken();
      await store.createToken({ hash: hashEnrollmentToken(token), maxUses: 1, expiresAt: Date.now() + 3_600_000, actor: 'test' });
      return token;
    },
    async stop() {
      await server.stop();
      await tmp.cleanup();
    },
  };
}

type Inbound = { readonly topic: string; readonly payload: Buffer };

/**
 * A device under test: its swtpm (booted from a recorded event log), its
 * enrollment, its model files and model log, and its MQTT connection.
 */
export class TestDevice {
  tpm: Tpm;
  ak!: EnrolledAk;
  identity!: EnrolledIdentity;
  client: MqttClient | undefined;
  modelLog!: ModelMeasurementLog;
  readonly session: EvidenceSession = {};
  readonly challenges = new Inbox<AttestationChallenge>();
  readonly results = new Inbox<AttestationResult>();
  readonly revocations = new Inbox<RevocationEvent>();

  private constructor(
    readonly env: AttestationServer,
    readonly swtpm: SwtpmInstance,
    readonly stateDir: string,
    readonly bootLogPath: string,
    readonly modelPaths: readonly string[],
    readonly akKind: 'rsa' | 'ecc',
  ) {
    this.tpm = swtpm.connect();
  }

  get deviceId(): string {
    return this.identity.deviceId;
  }

  /**
   * Boots the swtpm from the fixture log, enrolls through the registrar,
   * starts the model log and measures `models`, and connects.
   */
  static async create(env: AttestationServer, swtpm: SwtpmInstance, options: { name: string; akKind: 'rsa' | 'ecc'; models: readonly string[]; bootLog?: Uint8Array }): Promise<TestDevice> {
    const dir = join(env.root, 'devices', options.name);
    await mkdir(dir, { recursive: true });
    const bootLogPath = join(dir, 'binary_bios_measurements');
    await writeFile(bootLogPath, options.bootLog ?? (await readFixture()));
    const device = new TestDevice(env, swtpm, join(dir, 'state'), bootLogPath, options.models, options.akKind);
    await replayBootLogIntoTpm(device.tpm, await readFile(bootLogPath));
    await device.enroll();
    await device.openModelLog();
    await device.modelLog.measureModels(device.modelPaths);
    return device;
  }

  /** Enrolls (again, after a reinstatement) with a fresh token and loads the AK. */
  async enroll(): Promise<void> {
    // swtpm keeps transient objects across connections and has few slots: flush ours first.
    await this.ak?.release().catch(() => undefined);
    await this.tpm.close();
    await enroll({
      server: `mqtts://localhost:${this.env.server.port}`,
      caPem: this.env.server.context.ca.certificatePem,
      token: await this.env.newToken(),
      tpmUri: this.swtpm.uri,
      stateDir: this.stateDir,
      akKind: this.akKind,
    });
    this.tpm = this.swtpm.connect();
    this.identity = await loadEnrolledIdentity(this.stateDir);
    this.ak = await loadEnrolledAk(this.tpm, this.stateDir, this.identity.record);
  }

  async openModelLog(): Promise<void> {
    this.modelLog = await ModelMeasurementLog.open(this.tpm, this.stateDir);
  }

  /** Connects as the device and subscribes to its challenges, results and the fleet revocations. */
  async connect(): Promise<void> {
    this.challenges.drain();
    this.results.drain();
    const client = await connectOk(this.env.server.port, this.env.server.context.ca.certificatePem, { certPem: this.identity.certificatePem, keyPem: this.identity.keyPem }, this.deviceId);
    client.on('message', (topic: string, payload: Buffer) => this.#onMessage({ topic, payload }));
    this.client = client;
    await client.subscribeAsync([topics.deviceResult(this.deviceId), topics.fleetRevocations], { qos: 1 });
    // Last: the server challenges the device as soon as it listens for challenges.
    await client.subscribeAsync(topics.deviceChallenge(this.deviceId), { qos: 1 });
  }

  /** Tries to connect again with the current certificate: how the broker answered. */
  reconnectOutcome(): Promise<ConnectOutcome> {
    return connectClient(this.env.server.port, this.env.server.context.ca.certificatePem, { certPem: this.identity.certificatePem, keyPem: this.identity.keyPem }, { clientId: this.deviceId });
  }

  disconnect(): void {
    this.client?.end(true);
    this.client = undefined;
  }

  /** A challenge: the pending one, or one asked for now. */
  async challenge(): Promise<AttestationChallenge> {
    const pending = this.challenges.items.find((c) => c.expiresAt > Date.now() + 2000 && !this.#answered.has(c.challengeId));
    if (pending !== undefined) {
      this.challenges.drain();
      return pending;
    }
    // The server re-sends an open challenge for a while rather than make a new one: ask until a fresh one comes.
    const fresh = this.challenges.take((c) => !this.#answered.has(c.challengeId));
    for (let asked = 0; ; asked++) {
      await this.client!.publishAsync(topics.deviceChallengeRequest(this.deviceId), Buffer.from(encodeChallengeRequest({ v: 1, reason: 'manual' })), { qos: 1 });
      const got = await Promise.race([fresh, new Promise<undefined>((r) => setTimeout(() => r(undefined), 1500))]);
      if (got !== undefined) return got;
      if (asked > 20) throw new Error(`no challenge for ${this.deviceId}`);
    }
  }

  readonly #answered = new Set<string>();

  /** Evidence for `challenge`, built by the agent's own code. */
  build(challenge: AttestationChallenge): Promise<BuiltEvidence> {
    return buildEvidence(challenge, { tpm: this.tpm, ak: this.ak.ak, bootLogPath: this.bootLogPath, imaLog: null, modelLog: this.modelLog, session: this.session });
  }

  /** Publishes evidence (or raw bytes) on the device's evidence topic and waits for the result naming `challengeId`. */
  async send(payload: Evidence | Uint8Array, challengeId: string): Promise<AttestationResult> {
    this.#answered.add(challengeId);
    const bytes = payload instanceof Uint8Array ? payload : encodeEvidence(payload);
    await this.client!.publishAsync(topics.deviceEvidence(this.deviceId), Buffer.from(bytes), { qos: 1 });
    return this.results.take((r) => r.challengeId === challengeId);
  }

  /** One attestation: a challenge, the agent's evidence (changed by `tamper` if given), the result. */
  async attest(tamper?: (e: Evidence, challenge: AttestationChallenge) => Evidence | Promise<Evidence>): Promise<{ result: AttestationResult; evidence: Evidence; challenge: AttestationChallenge }> {
    const challenge = await this.challenge();
    const { evidence: built } = await this.build(challenge);
    const evidence = tamper ? await tamper(built, challenge) : built;
    return { result: await this.send(evidence, challenge.challengeId), evidence, challenge };
  }

  /**
   * A reboot: the TPM power-cycled (PCRs zero, resetCount + 1), the firmware
   * log replayed into it, the AK loaded again, the model log restarted and
   * the models measured again.
   */
  async reboot(): Promise<void> {
    await this.swtpm.powerCycle(this.tpm);
    await this.afterReset();
  }

  /** What a booting device does once its TPM is up: firmware measurements, AK, model log. */
  async afterReset(): Promise<void> {
    await replayBootLogIntoTpm(this.tpm, await readFile(this.bootLogPath));
    this.ak = await loadEnrolledAk(this.tpm, this.stateDir, this.identity.record);
    await this.openModelLog();
    await this.modelLog.measureModels(this.modelPaths);
  }

  /** Replaces the boot log file the agent sends (the TPM keeps what was measured). */
  async writeBootLog(bytes: Uint8Array): Promise<void> {
    await writeFile(this.bootLogPath, bytes);
  }

  async restoreBootLog(original: string): Promise<void> {
    await copyFile(original, this.bootLogPath);
  }

  async close(): Promise<void> {
    this.disconnect();
    await this.ak?.release().catch(() => undefined);
    await this.tpm.close().catch(() => undefined);
  }

  #onMessage(m: Inbound): void {
    if (m.topic === topics.deviceChallenge(this.deviceId)) {
      const c = decodeChallenge(m.payload);
      if (!(c instanceof ProtocolError)) this.challenges.push(c);
    } else if (m.topic === topics.deviceResult(this.deviceId)) {
      const r = decodeResult(m.payload);
      if (!(r instanceof ProtocolError)) this.results.push(r);
    } else if (m.topic === topics.fleetRevocations) {
      const e = decodeRevocation(m.payload);
      if (!(e instanceof ProtocolError)) this.revocations.push(e);
    }
  }
}

export { verdictOf, reasonCodes } from './verdicts.js';
