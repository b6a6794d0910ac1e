import Type from 'typebox';

/**
 * The `enrollment:` section of the server configuration (used by the
 * registrar, `../registrar/`). Kept in its own file so the section and its
 * documentation live together; `schema.ts` mounts it.
 *
 * The device certificate lifetime is not repeated here: enrollment issues
 * certificates with `pki.deviceCertificateValidityHours`, like renewal does.
 */
export const EnrollmentConfig = Type.Object(
  {
    manufacturerCaFiles: Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), {
      maxItems: 64,
      default: [],
      description:
        'PEM files of the TPM manufacturer CAs that EK certificates must chain to (each file may hold several certificates: roots and the intermediates between them and the EK certificates). Relative paths are resolved against the data directory. Empty: no EK certificate is trusted.',
    }),
    allowEkWithoutCertificate: Type.Boolean({
      default: false,
      description:
        'Accept a TPM that has no EK certificate (its EK then proves only that the AK lives in the same TPM, not that the TPM is genuine). An EK certificate that is present must still chain to a manufacturer CA.',
    }),
    sessionTtlSeconds: Type.Integer({
      minimum: 5,
      maximum: 3600,
      default: 300,
      description: 'How long a device has to answer the MakeCredential challenge; one open session per bootstrap client.',
    }),
  },
  { additionalProperties: false, default: {}, description: 'TPM-backed enrollment: which EK certificates are trusted and how long a challenge stays open.' },
);
