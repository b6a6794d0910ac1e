/**
 * Every reason code the verifier puts in a verdict, by the pipeline step
 * that finds it (see README.md for what each means and the status it gives).
 * Evidence that cannot be appraised at all gets an `AttestationError`
 * result instead (`schema`, `device-unknown`, `device-revoked`, `overloaded`, ...).
 */
export const REASON_CODES = {
  challenge: ['challenge-unknown', 'challenge-other-device', 'challenge-used', 'challenge-expired'],
  attest: ['quote-malformed', 'bad-magic', 'not-a-quote'],
  nonce: ['nonce-mismatch'],
  signature: ['malformed-signature', 'unsupported-signature', 'signature-key-mismatch', 'bad-signature', 'ak-unusable'],
  pcrDigest: ['pcr-selection-mismatch', 'pcr-digest-mismatch'],
  clock: ['tpm-reboot', 'tpm-restart', 'reset-count-decreased', 'restart-count-decreased', 'clock-went-back'],
  eventLog: [
    'event-log-mismatch',
    'event-log-invalid',
    'event-log-digest-mismatch',
    'event-log-unknown',
    'event-log-bank-missing',
  ],
  ima: ['ima-log-mismatch', 'ima-log-invalid', 'ima-log-offset-mismatch', 'ima-entry-wrong-pcr', 'ima-log-unreplayable', 'ima-pcr-not-quoted'],
  models: [
    'model-log-mismatch',
    'model-log-invalid',
    'model-log-offset-mismatch',
    'model-entry-wrong-pcr',
    'model-entry-not-ima-ng',
    'model-log-too-long',
    'model-pcr-not-quoted',
  ],
  policy: [
    'pcr-value-not-allowed',
    'pcr-not-quoted',
    'pcr-bank-unavailable',
    'event-log-missing',
    'boot-application-not-allowed',
    'boot-driver-not-allowed',
    'secure-boot-off',
    'secure-boot-state-untrusted',
    'secure-boot-database-not-measured',
    'secure-boot-database-entry-not-allowed',
    'dbx-entry-missing',
    'model-unknown',
    'model-digest-not-allowed',
  ],
} as const;

export type ReasonCode = (typeof REASON_CODES)[keyof typeof REASON_CODES][number];
