/**
 * Pipeline tests without a TPM: a real store (SQLite in a temp dir), a
 * device enrolled in it with a software AK, challenges recorded in it, and
 * evidence shaped exactly like the agent's, its quote signed in software
 * (real TPMS_ATTEST and TPMT_SIGNATURE structures: tpm2-ts's software
 * quote signer). The TPM paths themselves are covered against swtpm in
 * test/attestation*.test.ts; here every step's refusal is made on purpose.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelMeasurement, type ModelMeasurement } from '@vigil/evidence';
import { encodeBlob, encodeEvidence, randomId, type Evidence, type PcrSelection } from '@vigil/protocol';
import { encodePublicBlob, marshal, objectName, TPM_ALG, TPM_GENERATED_VALUE, TPM_ST, TPMS_ATTEST, TPMT_SIGNATURE } from '@vigil/tpm2-ts';
import { softwareAk, tpmSign, type SoftwareAk } from '../../packages/tpm2-ts/test/verify-software-quote.js';
import { createLogger } from '../src/log.js';
import type { FleetAllowlist } from '../src/policy/appraise/models.js';
import { PreparedPolicy } from '../src/policy/prepared-policy.js';
import type { PolicyDocument } from '../src/policy/schema.js';
import { generateEnrollmentToken, hashEnrollmentToken, openSqliteStore, type Store } from '../src/store/index.js';
import { Appraisal, type PipelineDeps } from '../src/verifier/pipeline/appraisal.js';
import { runPipeline } from '../src/verifier/pipeline/pipeline.js';
import { BootLogCache } from '../src/verifier/state/boot-log-cache.js';
import { DeviceStates } from '../src/verifier/state/device-state.js';

export const MODEL_PCR = 13;

export interface Clock {
  clock: bigint;
  resetCount: number;
  restartCount: number;
}

/** What a (simulated) device's TPM holds: PCR values per bank, its clock, its AK. */
export class SimulatedTpm {
  readonly pcrs = new Map<string, Map<number, Buffer>>([
    ['sha1', new Map()],
    ['sha256', new Map()],
  ]);
  clock: Clock = { clock: 1_000_000n, resetCount: 5, restartCount: 0 };

  constructor(readonly ak: SoftwareAk = softwareAk('rsassa')) {}

  value(bank: string, pcr: number): Buffer {
    return this.pcrs.get(bank)?.get(pcr) ?? Buffer.alloc(bank === 'sha1' ? 20 : 32);
  }

  extend(bank: 'sha1' | 'sha256', pcr: number, digest: Uint8Array): void {
    this.pcrs.get(bank)!.set(pcr, createHash(bank).update(this.value(bank, pcr)).update(digest).digest());
  }

  /** A TPM Reset: PCRs back to zero, resetCount up. */
  reboot(): void {
    for (const bank of this.pcrs.values()) bank.clear();
    this.clock = { clock: this.clock.clock + 10n, resetCount: this.clock.resetCount + 1, restartCount: 0 };
  }

  /** TPM2_Quote over `selection` with `nonce`, and the values as the agent reports them. */
  quote(selection: PcrSelection, nonce: Uint8Array, signer: SoftwareAk = this.ak): { attest: Uint8Array; signature: Uint8Array; pcrs: Evidence['pcrs'] } {
    const pcrs: Record<string, Record<string, string>> = {};
    const digest = createHash('sha256');
    const tpml: Array<{ hash: number; pcrSelect: Uint8Array }> = [];
    for (const [bank, list] of Object.entries(selection)) {
      if (list === undefined) continue;
      const sorted = [...list].sort((a, b) => a - b);
      const sel = new Uint8Array(3);
      pcrs[bank] = {};
      for (const p of sorted) {
        sel[p >> 3] = sel[p >> 3]! | (1 << (p & 7));
        const v = this.value(bank, p);
        pcrs[bank]![String(p)] = v.toString('hex');
        digest.update(v);
      }
      tpml.push({ hash: bank === 'sha1' ? TPM_ALG.SHA1 : TPM_ALG.SHA256, pcrSelect: sel });
    }
    this.clock = { ...this.clock, clock: this.clock.clock + 100n };
    const attest = marshal(TPMS_ATTEST, {
      magic: TPM_GENERATED_VALUE,
      type: TPM_ST.ATTEST_QUOTE,
      qualifiedSigner: Uint8Array.from([0x00, 0x0b, ...randomBytes(32)]),
      extraData: nonce,
      clockInfo: { ...this.clock, safe: true },
      firmwareVersion: 0x2019102300163636n,
      attested: { pcrSelect: tpml, pcrDigest: new Uint8Array(digest.digest()) },
    });
    return { attest, signature: marshal(TPMT_SIGNATURE, tpmSign(signer, attest)), pcrs: pcrs as Evidence['pcrs'] };
  }
}

/** A model log kept like the agent's: entries measured into the model PCR of a SimulatedTpm. */
export class SimulatedModelLog {
  readonly entries: ModelMeasurement[] = [];

  constructor(private readonly tpm: SimulatedTpm) {}

  measure(path: string, digest: string, options: { extend?: boolean } = {}): ModelMeasurement {
    const m = modelMeasurement(path, digest, MODEL_PCR);
    this.entries.push(m);
    if (options.extend !== false) {
      this.tpm.extend('sha1', MODEL_PCR, m.extend.sha1);
      this.tpm.extend('sha256', MODEL_PCR, m.extend.sha256);
    }
    return m;
  }

  chunk(offset: number): NonNullable<Evidence['modelLog']> {
    const text = this.entries
      .slice(offset)
      .map((m) => `${m.line}\n`)
      .join('');
    return { format: 'ima-ascii', offset, count: this.entries.length - offset, blob: encodeBlob(Buffer.from(text), 'gzip') };
  }
}

export interface PipelineFixture {
  readonly store: Store;
  readonly deps: PipelineDeps;
  /** Policies by device id; a device without one gets PreparedPolicy.none. */
  readonly policies: Map<string, PreparedPolicy>;
  fleet: FleetAllowlist;
  close(): Promise<void>;
}

/** The store a pipeline fixture runs on, and how to throw it away. */
export interface FixtureStore {
  readonly store: Store;
  dispose(): Promise<void>;
}

/** The default: a SQLite file in a temp dir. */
async function sqliteInTempDir(): Promise<FixtureStore> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-pipeline-'));
  const store = await openSqliteStore(join(dir, 'vigil.db'));
  return {
    store,
    async dispose() {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function pipelineFixture(openStore: () => Promise<FixtureStore> = sqliteInTempDir): Promise<PipelineFixture> {
  const opened = await openStore();
  const store = opened.store;
  const policies = new Map<string, PreparedPolicy>();
  const fixture: PipelineFixture = {
    store,
    policies,
    fleet: new Map(),
    deps: {
      store,
      consumeChallenge: (id, deviceId, now) => store.consumeChallenge(id, deviceId, now),
      states: new DeviceStates(store),
      bootLogs: new BootLogCache(),
      policyFor: (device) => policies.get(device.id) ?? PreparedPolicy.none,
      fleetAllowlist: () => fixture.fleet,
      log: createLogger({ level: 'silent' }),
      now: Date.now,
    },
    close: () => opened.dispose(),
  };
  return fixture;
}

export function preparedPolicy(document: PolicyDocument, name = 'test', version = 1): PreparedPolicy {
  return new PreparedPolicy(name, version, document);
}

/** Enrolls a device with the simulated TPM's AK; returns its id. */
export async function enrollSimulated(store: Store, tpm: SimulatedTpm, id = `dev-${randomBytes(4).toString('hex')}`): Promise<string> {
  const token = generateEnrollmentToken();
  await store.createToken({ hash: hashEnrollmentToken(token), maxUses: 1, expiresAt: Date.now() + 3_600_000, actor: 'test' });
  const result = await store.enrollDevice({
    tokenHash: hashEnrollmentToken(token),
    device: {
      id,
      ekPublic: randomBytes(64),
      ekName: '000b' + randomBytes(32).toString('hex'),
      akPublic: encodePublicBlob(tpm.ak.public),
      akName: Buffer.from(objectName(tpm.ak.public)).toString('hex'),
      facts: { hostname: id, os: 'test', arch: 'x64', agentVersion: '0', tpm: { manufacturer: 'SIM', firmwareVersion: '0' } },
    },
    certificate: { serial: randomBytes(16).toString('hex'), notBefore: Date.now(), notAfter: Date.now() + 86_400_000, pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' },
    actor: 'test',
  });
  if (!result.ok) throw new Error(result.reason);
  return id;
}

export interface IssuedChallenge {
  readonly id: string;
  readonly nonce: Buffer;
  readonly selection: PcrSelection;
}

export async function challenge(store: Store, deviceId: string, selection: PcrSelection = { sha256: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14] }, ttlMs = 30_000): Promise<IssuedChallenge> {
  const nonce = randomBytes(32);
  const id = randomId();
  await store.createChallenge({ id, deviceId, nonce, pcrSelection: selection, offsets: { imaEntries: 0, modelEntries: 0 }, expiresAt: Date.now() + ttlMs });
  return { id, nonce, selection };
}

/** Evidence answering `c` from the simulated TPM, as the agent builds it. */
export function evidence(tpm: SimulatedTpm, c: IssuedChallenge, extra: Partial<Evidence> = {}): Evidence {
  const q = tpm.quote(c.selection, c.nonce);
  return {
    v: 1,
    challengeId: c.id,
    quote: Buffer.from(q.attest).toString('base64'),
    signature: Buffer.from(q.signature).toString('base64'),
    pcrs: q.pcrs,
    ...extra,
  };
}

/** Runs the pipeline on evidence (or raw bytes) and persists the log state as the verifier does. */
export async function appraise(f: PipelineFixture, deviceId: string, payload: Evidence | Uint8Array): Promise<Appraisal> {
  const a = new Appraisal(deviceId, '01', payload instanceof Uint8Array ? payload : encodeEvidence(payload), Date.now());
  await runPipeline(a, f.deps);
  if (a.failure === undefined && a.clock !== undefined && a.nextLogState !== undefined) {
    const verdict = a.v.build({ deviceId, receivedAt: a.receivedAt });
    const worst = Object.values(verdict.submods).some((s) => s?.['ear.status'] === 'contraindicated');
    await f.store.recordAttestation({
      attestation: { deviceId, challengeId: a.challenge?.id ?? null, receivedAt: a.receivedAt, evidenceDigest: '0'.repeat(64), status: 'affirming', verdict, error: null, policy: null, tpmClock: a.clock },
      device: { status: worst ? 'contraindicated' : 'affirming', verified: !worst, tpmClock: a.clock },
      logState: a.nextLogState,
      actor: 'test',
    });
    a.state!.log = a.nextLogState;
  }
  return a;
}

/** `submodule/code` of every reason, and the status of each submodule. */
export function findings(a: Appraisal): { codes: string[]; status: Record<string, string> } {
  if (a.failure !== undefined) return { codes: [`error/${a.failure.code}`], status: {} };
  const v = a.v.build({ deviceId: a.deviceId, receivedAt: a.receivedAt });
  const codes = Object.entries(v.submods).flatMap(([sub, s]) => (s?.['vigil.reasons'] ?? []).map((r) => `${sub}/${r.code}`));
  const status = Object.fromEntries(Object.entries(v.submods).map(([sub, s]) => [sub, s!['ear.status']]));
  return { codes, status };
}
