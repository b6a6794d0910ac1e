import { join } from 'node:path';
import { AK_PRIVATE_FILE, AK_PUBLIC_FILE } from '../tpm/ak-files.js';
import { identityPaths } from '../identity/identity-files.js';

/**
 * The agent's state directory (`--state DIR`, mode 0700): everything the
 * agent keeps between runs. Names are fixed so that operators, packaging and
 * tpm2-tools can find the files.
 *
 * | file | what | mode |
 * | --- | --- | --- |
 * | `device.key` | the agent's RSA key: bootstrap TLS key, then the device key (PKCS#8 PEM) | 0600 |
 * | `bootstrap.pem` | self-signed bootstrap certificate over that key | 0644 |
 * | `device.pem` | device certificate issued by the fleet CA at enrollment | 0644 |
 * | `ca.pem` | the fleet CA certificate the server was verified against | 0644 |
 * | `ak.pub` / `ak.priv` | the AK as TPM2B_PUBLIC / TPM2B_PRIVATE (tpm2-tools formats), wrapped by the EK | 0644 / 0600 |
 * | `enrollment.json` | enrollment facts: device id, server, EK and AK kinds and Names, certificate serial and expiry | 0600 |
 */
export interface StatePaths {
  readonly root: string;
  readonly key: string;
  readonly bootstrapCertificate: string;
  readonly deviceCertificate: string;
  readonly caCertificate: string;
  readonly akPublic: string;
  readonly akPrivate: string;
  readonly enrollment: string;
}

export function statePaths(stateDir: string): StatePaths {
  const identity = identityPaths(stateDir);
  return {
    root: stateDir,
    key: identity.key,
    bootstrapCertificate: identity.bootstrapCertificate,
    deviceCertificate: identity.deviceCertificate,
    caCertificate: join(stateDir, 'ca.pem'),
    akPublic: join(stateDir, AK_PUBLIC_FILE),
    akPrivate: join(stateDir, AK_PRIVATE_FILE),
    enrollment: join(stateDir, 'enrollment.json'),
  };
}
