import { BOOTSTRAP_ID_PATTERN, CERTIFICATE_SERIAL_PATTERN, DEVICE_ID_PATTERN } from '@vigil/protocol/core';
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';

const HexName = Type.String({ pattern: '^[0-9a-f]{4,132}$', description: 'TPM object Name: nameAlg || digest, lowercase hex' });

/**
 * `enrollment.json`: what the agent learnt when it enrolled. Written last,
 * after the certificate and CA files, so its presence means the enrollment
 * completed. The EK kind says which EK template the AK lives under (the AK
 * blobs load only under that EK); the Names let the agent notice a TPM that
 * was cleared or swapped (its EK, re-created from the template, has another Name).
 */
export const EnrollmentRecord = Type.Object(
  {
    v: Type.Literal(1),
    deviceId: Type.String({ pattern: DEVICE_ID_PATTERN, maxLength: 63 }),
    /** `mqtts://host:port` the agent enrolled with. */
    server: Type.String({ minLength: 1, maxLength: 300 }),
    bootstrapId: Type.String({ pattern: BOOTSTRAP_ID_PATTERN }),
    /** Unix milliseconds. */
    enrolledAt: Type.Integer({ minimum: 0 }),
    certificate: Type.Object(
      {
        serial: Type.String({ pattern: CERTIFICATE_SERIAL_PATTERN }),
        /** Unix milliseconds. */
        notAfter: Type.Integer({ minimum: 0 }),
      },
      { additionalProperties: false },
    ),
    tpm: Type.Object(
      {
        ekKind: Type.Union([Type.Literal('rsa'), Type.Literal('ecc'), Type.Literal('ecc-p384')], {
          description: '@vigil/tpm2-ts EkKind: RSA 2048 (L-1), ECC P-256 (L-2) or ECC P-384 (H-3) template',
        }),
        ekName: HexName,
        akKind: Type.Union([Type.Literal('rsa'), Type.Literal('ecc')]),
        akName: HexName,
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type EnrollmentRecord = Static<typeof EnrollmentRecord>;

export const enrollmentRecordValidator = Compile(EnrollmentRecord);
