import {
  Ar4si,
  EAR_PROFILE,
  SUBMODULES,
  worseStatus,
  type Appraisal,
  type Ear,
  type EarStatus,
  type Submodule,
  type TrustworthinessVector,
  type VerdictReason,
} from '@vigil/protocol/core';

/** Who produced the verdict (EAR `ear.verifier-id`). */
export const VERIFIER_ID = { developer: 'vigil', build: 'vigil-server 0.1.0' } as const;

/** At most this many reasons per submodule (the protocol's bound). */
const MAX_REASONS = 64;

interface SubmoduleState {
  status: EarStatus;
  readonly reasons: VerdictReason[];
}

/**
 * Accumulates an EAR verdict while the pipeline runs: a submodule is
 * `affirming` once appraisal starts and only ever gets worse
 * (affirming < none < warning < contraindicated); every finding is kept
 * with its reason. Submodules never reached are reported `none`.
 */
export class VerdictBuilder {
  readonly #subs = new Map<Submodule, SubmoduleState>();

  constructor(readonly policyId: string) {}

  /** Starts appraising a submodule (affirming until something fails). */
  appraise(submodule: Submodule): void {
    if (!this.#subs.has(submodule)) this.#subs.set(submodule, { status: 'affirming', reasons: [] });
  }

  /** Records a finding that makes `submodule` at least `status`. */
  fail(submodule: Submodule, status: EarStatus, reason: VerdictReason): void {
    const s = this.#state(submodule);
    s.status = worseStatus(s.status, status);
    if (s.reasons.length < MAX_REASONS) s.reasons.push(reason);
  }

  /** Records a finding that does not change the status (a reboot, a note). */
  note(submodule: Submodule, reason: VerdictReason): void {
    const s = this.#state(submodule);
    if (s.reasons.length < MAX_REASONS) s.reasons.push(reason);
  }

  /** Marks submodules that were expected but not reached as `none` (not appraised). */
  notAppraised(...submodules: Submodule[]): void {
    for (const sub of submodules) {
      const s = this.#state(sub);
      if (s.reasons.length === 0 && s.status === 'affirming') s.status = 'none';
    }
  }

  has(submodule: Submodule): boolean {
    return this.#subs.has(submodule);
  }

  status(submodule: Submodule): EarStatus | undefined {
    return this.#subs.get(submodule)?.status;
  }

  /** True when every appraised submodule so far is affirming. */
  passing(submodule: Submodule): boolean {
    return this.#subs.get(submodule)?.status === 'affirming';
  }

  build(claims: { deviceId: string; challengeId?: string; nonce?: string; receivedAt: number; iat?: number }): Ear {
    const submods: Partial<Record<Submodule, Appraisal>> = {};
    for (const name of SUBMODULES) {
      const s = this.#subs.get(name);
      if (s === undefined) continue;
      const vector = trustworthiness(name, s);
      submods[name] = {
        'ear.status': s.status,
        ...(vector !== undefined ? { 'ear.trustworthiness-vector': vector } : {}),
        'ear.appraisal-policy-id': this.policyId,
        ...(s.reasons.length > 0 ? { 'vigil.reasons': s.reasons } : {}),
      };
    }
    return {
      eat_profile: EAR_PROFILE,
      iat: claims.iat ?? Math.floor(Date.now() / 1000),
      'ear.verifier-id': { ...VERIFIER_ID },
      ...(claims.nonce !== undefined ? { eat_nonce: claims.nonce } : {}),
      submods,
      'vigil.device-id': claims.deviceId,
      ...(claims.challengeId !== undefined ? { 'vigil.challenge-id': claims.challengeId } : {}),
      'vigil.evidence-received-at': claims.receivedAt,
    };
  }

  #state(submodule: Submodule): SubmoduleState {
    let s = this.#subs.get(submodule);
    if (s === undefined) {
      s = { status: 'affirming', reasons: [] };
      this.#subs.set(submodule, s);
    }
    return s;
  }
}

const CRYPTO_FAILURES = new Set(['bad-signature', 'malformed-signature', 'unsupported-signature', 'signature-key-mismatch', 'pcr-digest-mismatch', 'bad-magic']);

/**
 * The AR4SI trustworthiness vector for a submodule (draft-ietf-rats-ar4si
 * §2.3), from its status and reasons:
 * - identity: `instance-identity` (2 trustworthy, 99 when a cryptographic
 *   check failed, 96 otherwise), `hardware` 2 (a TPM whose EK chained to the
 *   manufacturer CA at enrollment), `sourced-data` 32 when the evidence was stale;
 * - boot: `executables` (3 approved boot, 33 unrecognized, 96 contraindicated)
 *   and `configuration` (2, 32 unsafe, 96 unsupportable: secure boot state);
 * - os: `file-system` (2, 32, 96);
 * - models: `executables` (2 approved runtime, 33, 96) and `file-system`.
 */
function trustworthiness(sub: Submodule, s: SubmoduleState): TrustworthinessVector | undefined {
  const { status, reasons } = s;
  if (status === 'none') return undefined;
  const bad = status === 'contraindicated';
  const warn = status === 'warning';
  switch (sub) {
    case 'identity': {
      if (bad) {
        const crypto = reasons.some((r) => CRYPTO_FAILURES.has(r.code));
        return { 'instance-identity': crypto ? Ar4si.cryptoValidationFailed : Ar4si.instanceIdentity.untrustworthy };
      }
      return warn
        ? { 'instance-identity': Ar4si.instanceIdentity.trustworthy, 'sourced-data': Ar4si.sourcedData.untrusted }
        : { 'instance-identity': Ar4si.instanceIdentity.trustworthy, hardware: Ar4si.hardware.genuine };
    }
    case 'boot': {
      const isConfig = (r: VerdictReason) => r.code.startsWith('secure-boot') || r.code.startsWith('dbx');
      const configFailed = reasons.some(isConfig);
      const execFailed = reasons.some((r) => !isConfig(r));
      return {
        executables: !execFailed ? Ar4si.executables.approvedBoot : bad ? Ar4si.executables.contraindicatedRuntime : Ar4si.executables.unrecognizedRuntime,
        configuration: !configFailed ? Ar4si.configuration.approved : bad ? Ar4si.configuration.unsupportable : Ar4si.configuration.unsafe,
      };
    }
    case 'os':
      return { 'file-system': bad ? Ar4si.fileSystem.contraindicated : warn ? Ar4si.fileSystem.unrecognized : Ar4si.fileSystem.approved };
    case 'models':
      return {
        executables: bad ? Ar4si.executables.contraindicatedRuntime : warn ? Ar4si.executables.unrecognizedRuntime : Ar4si.executables.approvedRuntime,
        'file-system': bad ? Ar4si.fileSystem.contraindicated : warn ? Ar4si.fileSystem.unrecognized : Ar4si.fileSystem.approved,
      };
  }
}
