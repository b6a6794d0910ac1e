import Type from 'typebox';

/**
 * The `attestation:` section of the server configuration (used by the
 * verifier, `../verifier/`, and the staleness monitor). Defaults: every
 * device is challenged every 60 s (±10 %, each on its own phase), a
 * challenge is valid for 30 s, a device with no verified attestation for 3
 * intervals turns `warning`, and 10 minutes after that it is revoked.
 */
export const AttestationConfig = Type.Object(
  {
    intervalSeconds: Type.Number({
      minimum: 0.05,
      maximum: 86_400,
      default: 60,
      description: 'How often each connected device is challenged (also `vigil-server start --attest-interval`). Each device has its own phase.',
    }),
    jitterPercent: Type.Number({ minimum: 0, maximum: 50, default: 10, description: 'Random spread of each interval, in percent either way, so a fleet never attests in lockstep.' }),
    challengeTtlSeconds: Type.Number({ minimum: 0.05, maximum: 3600, default: 30, description: 'How long a device has to answer a challenge.' }),
    staleAfterIntervals: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 3,
      description: 'A device with no verified attestation for this many intervals turns `warning` (stale).',
    }),
    staleGraceSeconds: Type.Number({
      minimum: 0,
      maximum: 30 * 86_400,
      default: 600,
      description: 'How long a stale device stays `warning` before it is revoked (reason `stale`).',
    }),
    maxQueuedPerDevice: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 4,
      description: 'Evidence messages one device may have waiting for appraisal; more are refused at once (`overloaded`), so one device cannot delay the others.',
    }),
    concurrency: Type.Integer({ minimum: 1, maximum: 10_000, default: 64, description: 'Evidence messages appraised at once (one per device at a time).' }),
  },
  { additionalProperties: false, default: {}, description: 'Continuous attestation: challenge schedule, freshness and staleness.' },
);
