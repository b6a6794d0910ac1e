import type { AttestationError, Evidence, VerdictReason } from '@vigil/protocol/core';
import type { TpmsAttestQuote, TpmtSignature } from '@vigil/tpm2-ts';
import type { Logger } from '../../log.js';
import type { BootLogFacts, ModelFact } from '../../policy/facts.js';
import type { PreparedPolicy } from '../../policy/prepared-policy.js';
import type { FleetAllowlist } from '../../policy/appraise/models.js';
import type { AttestingDevice, ChallengeRejection, ChallengeUse, NewDeviceLogState, Store, TpmClockState } from '../../store/index.js';
import type { IssuedChallenge } from '../challenges/sealed-challenge.js';
import type { BootLogCache } from '../state/boot-log-cache.js';
import type { DeviceStates, DeviceState } from '../state/device-state.js';
import { VerdictBuilder } from '../verdict.js';

/** What the pipeline steps use besides the evidence: the store and the verifier's caches. */
export interface PipelineDeps {
  readonly store: Store;
  /**
   * Accepts the answer to challenge `id` from `deviceId` at `now`, once: a
   * sealed challenge opened with the verifier's key and its use claimed in
   * this process (recorded in the store with the verdict), a stored one
   * consumed in the store, batched with other evidence's writes (group commit).
   */
  consumeChallenge(id: string, deviceId: string, now: number): Promise<ChallengeAnswer>;
  readonly states: DeviceStates;
  readonly bootLogs: BootLogCache;
  /** The policy that applies to a device (cached snapshot of the store's assignments). */
  policyFor(device: AttestingDevice): PreparedPolicy;
  /** The fleet model allowlist (cached). */
  fleetAllowlist(): FleetAllowlist;
  readonly log: Logger;
  now(): number;
}

/**
 * Whether evidence may answer the challenge it names; refusals in the order
 * unknown, other-device, used, expired. An accepted sealed challenge comes
 * with its use, to be recorded with the verdict (`Store.recordAnswer`).
 */
export type ChallengeAnswer =
  | { readonly ok: true; readonly challenge: IssuedChallenge; readonly use?: ChallengeUse }
  | { readonly ok: false; readonly reason: ChallengeRejection };

/** Evidence that could not be appraised at all: answered with an error result, not a verdict. */
export interface AppraisalFailure {
  readonly code: AttestationError;
  readonly message: string;
}

/**
 * One piece of evidence going through the pipeline: what it is, what each
 * step established, and the verdict being built. Steps read what earlier
 * steps set; a step that needs something an earlier step did not establish
 * is never reached (the pipeline stops first).
 */
export class Appraisal {
  evidence: Evidence | undefined;
  device: AttestingDevice | undefined;
  state: DeviceState | undefined;
  challenge: IssuedChallenge | undefined;
  /** The use of the sealed challenge this evidence answers, claimed in step 3 and recorded with the verdict. */
  use: ChallengeUse | undefined;
  /**
   * Appraised again because the store found the challenge's use recorded
   * already (another verifier process, or this one before a restart):
   * step 3 refuses it as `used`, as it would have had it known.
   */
  replay = false;
  policy: PreparedPolicy | undefined;
  /** The TPMS_ATTEST bytes as signed, and decoded. */
  quoteBytes: Uint8Array | undefined;
  attest: TpmsAttestQuote | undefined;
  signature: TpmtSignature | undefined;
  /** node:crypto name of the signature's hash, which is also the hash of the quote's pcrDigest (Part 3 §18.4). */
  signatureHash: string | undefined;
  /** The TPM clock of this quote, once the signature proved it. */
  clock: TpmClockState | undefined;
  /** The quote shows a TPM Reset since the clock its challenge was issued against (a reboot). */
  rebooted = false;
  bootLog: BootLogFacts | null = null;
  /** Model measurements of the current boot, once the model log replayed to the quote. */
  models: readonly ModelFact[] = [];
  /** The device's log state after this evidence, persisted with the verdict. */
  nextLogState: NewDeviceLogState | undefined;
  failure: AppraisalFailure | undefined;
  verdict: VerdictBuilder | undefined;

  constructor(
    readonly deviceId: string,
    /** Serial of the certificate the device connected with. */
    readonly serial: string,
    readonly payload: Uint8Array,
    readonly receivedAt: number,
  ) {}

  /** The verdict under construction (created by the policy-resolution step). */
  get v(): VerdictBuilder {
    if (this.verdict === undefined) throw new Error('verdict used before the policy was resolved');
    return this.verdict;
  }

  startVerdict(policy: PreparedPolicy): void {
    this.policy = policy;
    this.verdict = new VerdictBuilder(policy.id);
  }
}

/** What a step tells the pipeline: go on, stop here (the verdict is complete), or give up without a verdict. */
export type StepResult = 'continue' | 'stop' | AppraisalFailure;

export type Step = (a: Appraisal, deps: PipelineDeps) => StepResult | Promise<StepResult>;

export type { VerdictReason };
