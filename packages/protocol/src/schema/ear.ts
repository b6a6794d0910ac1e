import Type, { type Static } from 'typebox';
import { EAR_PROFILE, EAR_STATUSES, type EarStatus as EarStatusName } from '../ear/names.js';
import { Code, DeviceId, EpochMs, HashAlgorithm, HexBytes, PcrIndex, RandomId, Struct, Text, Uint32 } from './primitives.js';

/**
 * Attestation results in the EAT Attestation Result (EAR) format,
 * draft-ietf-rats-ear, JSON serialisation, profile
 * `tag:github.com,2023:veraison/ear`. Vigil's additions are private claims
 * prefixed `vigil.` (EAR §3 allows unregistered extensions).
 */

/** Appraisal status of a submodule (EAR §3.1, the AR4SI tiers). */
export type EarStatus = EarStatusName;
export const EarStatus = Type.Enum(EAR_STATUSES);

/** An AR4SI trustworthiness claim value: a signed byte (draft-ietf-rats-ar4si §2.3). */
const Claim = Type.Integer({ minimum: -128, maximum: 127 });

/** The AR4SI trustworthiness vector (draft-ietf-rats-ar4si §2.3; EAR `ear.trustworthiness-vector`). */
export const TrustworthinessVector = Struct({
  'instance-identity': Type.Optional(Claim),
  configuration: Type.Optional(Claim),
  executables: Type.Optional(Claim),
  'file-system': Type.Optional(Claim),
  hardware: Type.Optional(Claim),
  'runtime-opaque': Type.Optional(Claim),
  'storage-opaque': Type.Optional(Claim),
  'sourced-data': Type.Optional(Claim),
});
export type TrustworthinessVector = Static<typeof TrustworthinessVector>;

/**
 * Where a finding was made, as precisely as the verifier knows it: the PCR
 * (bank and index), the event's index in the boot event log or in the IMA /
 * model log, a file path, and the expected and actual digests.
 */
export const ReasonLocation = Struct({
  bank: Type.Optional(HashAlgorithm),
  pcr: Type.Optional(PcrIndex),
  event: Type.Optional(Uint32),
  path: Type.Optional(Text(4096)),
  expected: Type.Optional(Text(256)),
  actual: Type.Optional(Text(256)),
});
export type ReasonLocation = Static<typeof ReasonLocation>;

/** One finding of the appraisal (Vigil extension `vigil.reasons`). */
export const VerdictReason = Struct({
  code: Code,
  message: Text(1024),
  where: Type.Optional(ReasonLocation),
});
export type VerdictReason = Static<typeof VerdictReason>;

/** The appraisal of one submodule (EAR §3.1 "ear.appraisal"). */
export const Appraisal = Struct({
  'ear.status': EarStatus,
  'ear.trustworthiness-vector': Type.Optional(TrustworthinessVector),
  'ear.appraisal-policy-id': Type.Optional(Text(256)),
  'vigil.reasons': Type.Optional(Type.Array(VerdictReason, { maxItems: 64 })),
});
export type Appraisal = Static<typeof Appraisal>;

/** The appraisals of Vigil's submodules (see `SUBMODULES`). */
export const Submods = Struct({
  boot: Type.Optional(Appraisal),
  os: Type.Optional(Appraisal),
  models: Type.Optional(Appraisal),
  identity: Type.Optional(Appraisal),
});
export type Submods = Static<typeof Submods>;

/** An EAR attestation result (draft-ietf-rats-ear §3). */
export const Ear = Type.Object(
  {
    eat_profile: Type.Literal(EAR_PROFILE),
    iat: Type.Integer({ minimum: 0, maximum: 8.64e12, description: 'issued at, Unix time in seconds (RFC 7519 NumericDate)' }),
    'ear.verifier-id': Struct({ developer: Text(128), build: Text(128) }),
    eat_nonce: Type.Optional(HexBytes(32, { description: 'the challenge nonce the verdict answers' })),
    submods: Type.Refine(Submods, (s) => Object.keys(s).length > 0, () => 'must appraise at least one submodule'),
    'vigil.device-id': DeviceId,
    'vigil.challenge-id': Type.Optional(RandomId),
    'vigil.evidence-received-at': Type.Optional(EpochMs),
  },
  { additionalProperties: false },
);
export type Ear = Static<typeof Ear>;
