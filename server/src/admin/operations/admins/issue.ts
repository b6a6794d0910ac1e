import Type from 'typebox';
import { OperationError } from '../errors.js';
import { defineOperation } from '../operation.js';
import { name } from '../schemas.js';
import { AdminCredentialInfo, adminCredentialInfo, RoleSchema } from './schemas.js';

/**
 * Certifies a public key as an admin credential. The key pair is made where
 * the credential will live (`vigil-server admin issue` makes it on the
 * operator's machine): the private key never travels.
 */
export const issueAdminCredential = defineOperation({
  name: 'admins.issue',
  summary: 'certify a public key as an admin client credential (name and role in the certificate) and record it',
  method: 'POST',
  path: '/v1/admins',
  role: 'admin',
  input: Type.Object(
    {
      name: name('who holds it (a-z 0-9 . _ -); the audit log names them admin:<name>'),
      role: RoleSchema,
      publicKeyPem: Type.String({ maxLength: 16_384, pattern: '^-----BEGIN PUBLIC KEY-----', description: 'SubjectPublicKeyInfo PEM of an RSA key of 2048 bits or more' }),
      validityDays: Type.Integer({ minimum: 1, maximum: 3650, default: 365, description: 'lifetime in days' }),
    },
    { additionalProperties: false },
  ),
  output: Type.Object(
    { credential: AdminCredentialInfo, certificatePem: Type.String(), caCertificatePem: Type.String({ description: 'the fleet CA: trust anchor for the admin API’s server certificate' }) },
    { additionalProperties: false },
  ),
  offline: true,
  async handler(ctx, input) {
    const [{ PkiError, days }, ca] = await Promise.all([import('../../../pki/index.js'), ctx.fleetCa()]);
    let issued;
    try {
      issued = ca.issueAdminCertificate({ publicKey: input.publicKeyPem, name: input.name, role: input.role, validityMs: days(input.validityDays) });
    } catch (err) {
      if (err instanceof PkiError && (err.code === 'invalid-key' || err.code === 'unsupported-key')) {
        throw new OperationError('invalid-input', err.message, { property: 'publicKeyPem', cause: err });
      }
      throw err;
    }
    const record = await ctx.store.addAdminCredential({
      serial: issued.serial,
      name: input.name,
      role: input.role,
      notBefore: issued.notBefore.getTime(),
      notAfter: issued.notAfter.getTime(),
      actor: ctx.actor,
    });
    return { credential: adminCredentialInfo(record, Date.now()), certificatePem: issued.pem, caCertificatePem: ca.certificatePem };
  },
});
