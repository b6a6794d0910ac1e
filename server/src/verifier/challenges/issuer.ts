import { encodeChallenge, topics, type AttestationChallenge } from '@vigil/protocol';
import type { Broker } from '../../broker/index.js';
import type { Logger } from '../../log.js';
import type { PreparedPolicy } from '../../policy/prepared-policy.js';
import type { AttestingDevice, Store } from '../../store/index.js';
import type { DeviceStates } from '../state/device-state.js';
import { selectionForDevice } from './device-banks.js';
import type { ChallengeSeal, IssuedChallenge } from './sealed-challenge.js';

/** Why a challenge was sent (for logs and metrics). */
export type ChallengeTrigger = 'schedule' | 'subscribe' | 'request' | 'admin';

export interface ChallengeIssuerOptions {
  readonly ttlMs: number;
  /** New challenges for one device are at least this far apart; a request in between re-sends the open one. */
  readonly minSpacingMs: number;
}

interface Outstanding {
  readonly message: AttestationChallenge;
  /** What the seal made: what opening the id with the key gives back. */
  readonly sealed: IssuedChallenge;
  readonly issuedAt: number;
  answered: boolean;
}

export type IssueResult =
  | { readonly ok: true; readonly challenge: AttestationChallenge; readonly reused: boolean }
  | { readonly ok: false; readonly reason: 'unknown-device' | 'revoked' };

/**
 * Makes and sends attestation challenges: the PCR selection of the device's
 * policy (in the banks its TPM has, `selectionForDevice`), the log offsets
 * the store holds for its current boot, an expiry, and the device's TPM
 * clock as the store has it now (the anchor of the clock check), sealed
 * (`ChallengeSeal`): the id carries them under a MAC and the nonce is a MAC
 * of them and the device id, so nothing is written when a challenge is issued and any
 * verifier process holding the key can check the answer; the store records
 * only its use. A device that asks again while its last challenge is open
 * and young gets that one again instead of a new one.
 */
export class ChallengeIssuer {
  readonly #open = new Map<string, Outstanding>();
  /** Issues in progress, per device (see `issue`). */
  readonly #making = new Map<string, Promise<IssueResult>>();

  constructor(
    private readonly deps: {
      readonly store: Store;
      readonly broker: Broker;
      readonly states: DeviceStates;
      readonly policyFor: (device: AttestingDevice) => PreparedPolicy;
      readonly log: Logger;
      readonly now: () => number;
      readonly onSent?: (trigger: ChallengeTrigger) => void;
      readonly seal: ChallengeSeal;
      readonly onExpired?: () => void;
      /** Whether an answer to this challenge was accepted in this process (its use is stored with the verdict, so the store may not have it yet). */
      readonly claimed?: (challengeId: string) => boolean;
    },
    private readonly options: ChallengeIssuerOptions,
  ) {}

  /**
   * Issues (or re-sends) a challenge to `deviceId` and publishes it on its
   * challenge topic. A call while a challenge for the device is being made
   * (its store reads are under way) gets that challenge: the
   * device subscribing and asking at once must not get two challenges, each
   * anchored on the TPM clock before its first answer (step 8, the clock
   * check). Only an admin's request always makes a new one.
   */
  issue(deviceId: string, trigger: ChallengeTrigger): Promise<IssueResult> {
    if (trigger === 'admin') return this.#issue(deviceId, trigger);
    const making = this.#making.get(deviceId);
    if (making !== undefined) return making.then((r) => (r.ok ? { ...r, reused: true } : r));
    const made = this.#issue(deviceId, trigger);
    this.#making.set(deviceId, made);
    const done = (): void => {
      if (this.#making.get(deviceId) === made) this.#making.delete(deviceId);
    };
    made.then(done, done);
    return made;
  }

  async #issue(deviceId: string, trigger: ChallengeTrigger): Promise<IssueResult> {
    const now = this.deps.now();
    const open = this.#open.get(deviceId);
    if (open !== undefined && !open.answered && open.message.expiresAt > now && now - open.issuedAt < this.options.minSpacingMs && trigger !== 'admin') {
      // Answered here, its verdict perhaps not yet stored: a new one. With several verifier replicas the
      // answer may have been appraised by another one, which this process never hears of: the store knows.
      const used = this.deps.claimed?.(open.message.challengeId) === true || (await this.deps.store.isChallengeUsed(open.message.challengeId, open.message.expiresAt));
      if (!used) {
        // Sent again, not made again: a lost message is recovered without a new challenge.
        await this.#publish(deviceId, open.message);
        return { ok: true, challenge: open.message, reused: true };
      }
      open.answered = true;
    }
    if (open !== undefined && !open.answered && open.message.expiresAt <= now) this.deps.onExpired?.();
    const state = this.deps.states.get(deviceId);
    const current = await this.deps.states.current(state);
    if (current === null) return { ok: false, reason: 'unknown-device' };
    const { device } = current;
    if (device.revoked) return { ok: false, reason: 'revoked' };
    const policy = this.deps.policyFor(device);
    // Offsets as the store has them, not as this process last saw them: with several
    // verifier replicas, the device's last evidence may have been appraised by another one.
    const log = await this.deps.states.logStateAt(state, current.log);
    const sealed = this.deps.seal.seal({
      deviceId,
      // The device's TPM may lack a bank the policy names (a policy imported from another platform).
      pcrSelection: selectionForDevice(policy.selection, device),
      expiresAt: now + this.options.ttlMs,
      // The clock the store holds now: the answer's quote is made after this challenge, so its
      // clock cannot be below it (step 8), whatever order concurrent answers are appraised in.
      tpmClockAtIssue: device.tpmClock,
    });
    const message: AttestationChallenge = {
      v: 1,
      challengeId: sealed.id,
      nonce: Buffer.from(sealed.nonce).toString('hex'),
      pcrSelection: sealed.pcrSelection,
      offsets: {
        imaEntries: log.ima.entries,
        modelEntries: log.model.entries,
        ...(log.bootLogDigest !== null ? { bootLogDigest: log.bootLogDigest } : {}),
      },
      expiresAt: sealed.expiresAt,
    };
    this.#open.set(deviceId, { message, sealed, issuedAt: now, answered: false });
    await this.#publish(deviceId, message);
    this.deps.onSent?.(trigger);
    return { ok: true, challenge: message, reused: false };
  }

  /** Evidence naming this challenge arrived: the device's next request gets a new one. */
  answered(deviceId: string, challengeId: string): void {
    const open = this.#open.get(deviceId);
    if (open !== undefined && open.message.challengeId === challengeId) open.answered = true;
  }

  /**
   * The challenge `id` as this process sealed it, if it is the one it last
   * issued to `deviceId`: what opening the id with the key would give back,
   * known without a MAC (step 3's usual path: a device answers the verifier
   * that challenged it). Expiry and use are still judged as for any id.
   */
  sealedFor(deviceId: string, id: string): IssuedChallenge | undefined {
    const open = this.#open.get(deviceId);
    return open !== undefined && open.sealed.id === id ? open.sealed : undefined;
  }

  forget(deviceId: string): void {
    this.#open.delete(deviceId);
    this.#making.delete(deviceId);
  }

  async #publish(deviceId: string, message: AttestationChallenge): Promise<void> {
    this.deps.broker.sendToDevice(deviceId, topics.deviceChallenge(deviceId), encodeChallenge(message));
  }
}
