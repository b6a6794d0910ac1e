import { createPrivateKey, createPublicKey, generateKeyPair, X509Certificate } from 'node:crypto';
import { promisify } from 'node:util';
import { bootstrapIdFromSpki } from '@vigil/protocol';

const generateKeyPairAsync = promisify(generateKeyPair);
const DAY_MS = 86_400_000;

/** Default lifetime of the self-signed bootstrap certificate; it is re-made (same key) when it nears expiry. */
export const BOOTSTRAP_CERTIFICATE_VALIDITY_MS = 365 * DAY_MS;

/**
 * The agent's key and the self-signed certificate it presents before it is
 * enrolled. The key is RSA-2048 because the fleet CA (node-forge) certifies
 * RSA keys only, and the device certificate is issued for this same key: the
 * one the agent proved possession of in its bootstrap TLS handshake.
 */
export interface BootstrapIdentity {
  /** PKCS#8 PEM. Secret: written 0600, never logged. */
  readonly privateKeyPem: string;
  /** Self-signed certificate (PEM) over the key. */
  readonly certificatePem: string;
  /** Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER: names the agent's enroll topics. */
  readonly bootstrapId: string;
}

export interface BootstrapIdentityOptions {
  /** Reuse this key (PKCS#8 or PKCS#1 PEM) instead of generating one. */
  readonly privateKeyPem?: string;
  readonly now?: Date;
  readonly validityMs?: number;
}

export class IdentityError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IdentityError';
  }
}

export async function createBootstrapIdentity(options: BootstrapIdentityOptions = {}): Promise<BootstrapIdentity> {
  let privateKey;
  if (options.privateKeyPem !== undefined) {
    try {
      privateKey = createPrivateKey(options.privateKeyPem);
    } catch (err) {
      throw new IdentityError(`cannot parse the agent key: ${(err as Error).message}`, { cause: err });
    }
    if (privateKey.asymmetricKeyType !== 'rsa') {
      throw new IdentityError(`the agent key must be RSA (the fleet CA certifies RSA keys only), got ${privateKey.asymmetricKeyType ?? 'unknown'}`);
    }
  } else {
    privateKey = (await generateKeyPairAsync('rsa', { modulusLength: 2048 })).privateKey;
  }
  const publicKey = createPublicKey(privateKey);
  const bootstrapId = bootstrapIdFromSpki(publicKey.export({ type: 'spki', format: 'der' }));
  const now = options.now ?? new Date();
  // Loaded on use: an enrolled agent never makes another one.
  const { createSelfSignedCertificate } = await import('./self-signed-certificate.js');
  const certificatePem = await createSelfSignedCertificate(
    { privateKey, publicKey },
    {
      commonName: `vigil-bootstrap-${bootstrapId.slice(0, 16)}`,
      notBefore: new Date(now.getTime() - 3_600_000), // tolerate a device clock an hour behind
      notAfter: new Date(now.getTime() + (options.validityMs ?? BOOTSTRAP_CERTIFICATE_VALIDITY_MS)),
    },
  );
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certificatePem,
    bootstrapId,
  };
}

/** True when `certificatePem` is a parseable certificate for `privateKeyPem` valid for at least `marginMs` more. */
export function certificateStillUsable(certificatePem: string, privateKeyPem: string, now: Date, marginMs: number): boolean {
  try {
    const cert = new X509Certificate(certificatePem);
    const key = createPublicKey(privateKeyPem).export({ type: 'spki', format: 'der' });
    return (
      key.equals(cert.publicKey.export({ type: 'spki', format: 'der' })) &&
      Date.parse(cert.validTo) - now.getTime() > marginMs &&
      Date.parse(cert.validFrom) <= now.getTime()
    );
  } catch {
    return false;
  }
}

/** The bootstrap id of a private key (PEM): SHA-256 of its public half's SPKI DER. */
export function bootstrapIdOfKey(privateKeyPem: string): string {
  try {
    return bootstrapIdFromSpki(createPublicKey(privateKeyPem).export({ type: 'spki', format: 'der' }));
  } catch (err) {
    throw new IdentityError(`cannot parse the agent key: ${(err as Error).message}`, { cause: err });
  }
}
