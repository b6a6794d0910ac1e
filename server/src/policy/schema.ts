import Type, { type Static } from 'typebox';

/**
 * The golden-value policy document, described once: this TypeBox schema is
 * the JSON Schema the store's policy documents are validated against and the
 * `PolicyDocument` type the verifier evaluates. Every list and map is
 * bounded, so a policy cannot make an appraisal unboundedly expensive.
 *
 * Digests are lowercase hex. What each part appraises:
 * - `pcrs` (submodule `boot`): allowed values per bank and PCR index;
 * - `eventLog` (`boot`): allowed digests of boot applications and drivers,
 *   the secure boot state and its signature databases;
 * - `models` (`models`): which model files (by path or file name) may have
 *   which SHA-256 digests, and the model PCR;
 * - `onFailure`: whether a failure of `boot`, `os` or `models` contraindicates
 *   (revokes) the device or only warns. `identity` failures (signature,
 *   freshness, clock) always contraindicate.
 */

/** Lowercase hex of a digest of any supported size (SHA-1 to SHA-512). */
const DigestHex = Type.String({ pattern: '^(?:[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128})$', maxLength: 128 });
const Sha256Hex = Type.String({ pattern: '^[0-9a-f]{64}$', minLength: 64, maxLength: 64 });
const PcrIndex = Type.Integer({ minimum: 0, maximum: 23 });
const PCR_KEY = '^(?:[0-9]|1[0-9]|2[0-3])$';
const Digests = (maxItems: number) => Type.Array(DigestHex, { maxItems, uniqueItems: true });

export const BANKS = ['sha1', 'sha256', 'sha384', 'sha512'] as const;
export type Bank = (typeof BANKS)[number];

const pcrList = () => Type.Array(PcrIndex, { minItems: 1, maxItems: 24, uniqueItems: true });
/** Which PCRs a challenge asks the device to quote. */
export const PolicyPcrSelection = Type.Object(
  { sha1: Type.Optional(pcrList()), sha256: Type.Optional(pcrList()), sha384: Type.Optional(pcrList()), sha512: Type.Optional(pcrList()) },
  { additionalProperties: false, minProperties: 1 },
);

/** Allowed values of the PCRs of one bank: `{ "0": ["<hex>", ...], "7": [...] }`. */
const bankValues = () =>
  Type.Record(Type.String({ pattern: PCR_KEY }), Digests(64), { additionalProperties: false, maxProperties: 24 });
export const PcrGoldenValues = Type.Object(
  { sha1: Type.Optional(bankValues()), sha256: Type.Optional(bankValues()), sha384: Type.Optional(bankValues()), sha512: Type.Optional(bankValues()) },
  { additionalProperties: false },
);

/**
 * Secure boot reference values, read from the verified PCR 7 events of the
 * boot event log. A signature database entry is named by the SHA-256 of its
 * EFI_SIGNATURE_DATA content: for an X.509 entry that is the certificate's
 * SHA-256 fingerprint, for an EFI_CERT_SHA256 entry the hash itself.
 */
export const SecureBootPolicy = Type.Object(
  {
    required: Type.Optional(Type.Boolean({ description: 'secure boot must be on, and its measured state free of problems' })),
    pk: Type.Optional(Type.Array(Sha256Hex, { maxItems: 64, uniqueItems: true, description: 'every PK entry must be one of these' })),
    kek: Type.Optional(Type.Array(Sha256Hex, { maxItems: 256, uniqueItems: true, description: 'every KEK entry must be one of these' })),
    db: Type.Optional(Type.Array(Sha256Hex, { maxItems: 4096, uniqueItems: true, description: 'every db entry must be one of these' })),
    dbxMustContain: Type.Optional(
      Type.Array(Sha256Hex, { maxItems: 4096, uniqueItems: true, description: 'forbidden entries (revoked binaries and keys) the dbx must list' }),
    ),
  },
  { additionalProperties: false },
);

export const EventLogPolicy = Type.Object(
  {
    bootApplications: Type.Optional(
      Type.Array(DigestHex, { maxItems: 4096, uniqueItems: true, description: 'allowed digests of EV_EFI_BOOT_SERVICES_APPLICATION events (any bank)' }),
    ),
    bootDrivers: Type.Optional(
      Type.Array(DigestHex, { maxItems: 4096, uniqueItems: true, description: 'allowed digests of EV_EFI_BOOT_SERVICES_DRIVER and EV_EFI_RUNTIME_SERVICES_DRIVER events (any bank)' }),
    ),
    secureBoot: Type.Optional(SecureBootPolicy),
  },
  { additionalProperties: false },
);

/** Model file name (no `/`) or absolute path → allowed SHA-256 digests of the file. */
export const ModelPolicy = Type.Object(
  {
    pcr: Type.Optional(Type.Integer({ minimum: 0, maximum: 15, description: 'the model PCR (default 13); 16-23 are resettable or DRTM' })),
    allowed: Type.Optional(
      Type.Record(Type.String({ minLength: 1, maxLength: 1024, pattern: '^[^\\u0000-\\u001f\\u007f]+$' }), Type.Array(Sha256Hex, { minItems: 1, maxItems: 64, uniqueItems: true }), {
        maxProperties: 4096,
      }),
    ),
    fleetAllowlist: Type.Optional(Type.Boolean({ description: 'also accept the fleet model allowlist (`vigil-server models allow`); default true' })),
  },
  { additionalProperties: false },
);

const Disposition = Type.Union([Type.Literal('contraindicated'), Type.Literal('warning')]);
export const FailureDisposition = Type.Object(
  { boot: Type.Optional(Disposition), os: Type.Optional(Disposition), models: Type.Optional(Disposition) },
  { additionalProperties: false },
);
export type Disposition = Static<typeof Disposition>;

export const PolicyDocument = Type.Object(
  {
    v: Type.Literal(1),
    description: Type.Optional(Type.String({ maxLength: 512, pattern: '^[^\\u0000-\\u001f\\u007f]*$' })),
    pcrSelection: Type.Optional(PolicyPcrSelection),
    intervalSeconds: Type.Optional(Type.Number({ minimum: 1, maximum: 86_400, description: 'attestation interval of the devices this policy applies to' })),
    pcrs: Type.Optional(PcrGoldenValues),
    eventLog: Type.Optional(EventLogPolicy),
    models: Type.Optional(ModelPolicy),
    onFailure: Type.Optional(FailureDisposition),
  },
  { additionalProperties: false },
);
export type PolicyDocument = Static<typeof PolicyDocument>;
export type PolicyPcrSelection = Static<typeof PolicyPcrSelection>;
export type PcrGoldenValues = Static<typeof PcrGoldenValues>;
export type SecureBootPolicy = Static<typeof SecureBootPolicy>;
export type EventLogPolicy = Static<typeof EventLogPolicy>;
export type ModelPolicy = Static<typeof ModelPolicy>;
