/**
 * Test helpers for the fleet PKI: CAs (the fleet's and foreign ones), device
 * credentials (valid, expired), bootstrap credentials and CA-issued
 * certificates without a device identity. Everything is real: keys from
 * node:crypto, certificates from the project's own CA code and the agent's
 * own bootstrap identity code.
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBootstrapIdentity } from '@vigil/agent';
import { FleetCa, hours } from '@vigil/server';

/** A TLS client credential pair as mqtt.js and mosquitto take it. */
export interface ClientCredentials {
  readonly keyPem: string;
  readonly certPem: string;
}

export interface DeviceCredentials extends ClientCredentials {
  readonly deviceId: string;
  readonly serial: string;
}

export interface BootstrapCredentials extends ClientCredentials {
  readonly bootstrapId: string;
}

/** A fleet CA with a 2048-bit key (production uses 3072; tests want speed). */
export function makeFleetCa(commonName = 'Vigil Fleet CA'): Promise<FleetCa> {
  return FleetCa.create({ commonName, keyBits: 2048 });
}

/**
 * A CA that is not ours but looks like it: by default the same subject
 * (CN) as `like`, so only the signature tells them apart.
 */
export function makeForeignCa(like?: FleetCa): Promise<FleetCa> {
  const cn = like ? /CN=([^\n]+)/.exec(like.certificate.subject)?.[1] : undefined;
  return FleetCa.create({ commonName: cn ?? 'Vigil Fleet CA', keyBits: 2048 });
}

/** A fresh RSA private key (PKCS#8 PEM). */
export function rsaKeyPem(bits = 2048): string {
  // PEM from the generating job itself: exporting its KeyObject can deadlock in Node 20 (generateKeyPair in tpm2-ts).
  return generateKeyPairSync('rsa', { modulusLength: bits, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }).privateKey;
}

let shared: string | undefined;
/**
 * One RSA-2048 key per test process, for certificates whose key does not
 * matter to the test (identity comes from the certificate): RSA generation is
 * most of the cost of making credentials.
 */
export function sharedKeyPem(): string {
  shared ??= rsaKeyPem();
  return shared;
}

/**
 * A device certificate issued by `ca` for the given key, or the process's shared key.
 * `expired: true` issues one whose validity ended an hour ago.
 */
export function makeDeviceCredentials(
  ca: FleetCa,
  deviceId: string,
  options: { expired?: boolean; keyPem?: string; validityMs?: number } = {},
): DeviceCredentials {
  const keyPem = options.keyPem ?? sharedKeyPem();
  const issued = ca.issueDeviceCertificate({
    publicKey: createPrivateKey(keyPem),
    deviceId,
    ...(options.expired
      ? { now: new Date(Date.now() - hours(3)), validityMs: hours(2) }
      : options.validityMs !== undefined
        ? { validityMs: options.validityMs }
        : {}),
  });
  return { keyPem, certPem: issued.pem, deviceId, serial: issued.serial };
}

/** A self-signed bootstrap credential made by the agent's own identity code. */
export async function makeBootstrapCredentials(keyPem?: string): Promise<BootstrapCredentials> {
  const identity = await createBootstrapIdentity(keyPem !== undefined ? { privateKeyPem: keyPem } : {});
  return { keyPem: identity.privateKeyPem, certPem: identity.certificatePem, bootstrapId: identity.bootstrapId };
}

/** Issued by the fleet CA but carrying no device SAN (a server certificate). */
export function makeCaIssuedWithoutDeviceSan(ca: FleetCa): ClientCredentials {
  const keyPem = sharedKeyPem();
  const issued = ca.issueServerCertificate({ publicKey: createPrivateKey(keyPem), sans: ['not-a-device.example'], validityMs: hours(1) });
  return { keyPem, certPem: issued.pem };
}

/** A temp directory, removed by the returned cleanup. */
export async function makeTempDir(prefix = 'vigil-test-'): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** Writes credentials as `<name>.pem` / `<name>.key` (0600) for command-line clients. */
export async function writeCredentials(dir: string, name: string, creds: ClientCredentials): Promise<{ certPath: string; keyPath: string }> {
  const certPath = join(dir, `${name}.pem`);
  const keyPath = join(dir, `${name}.key`);
  await writeFile(certPath, creds.certPem);
  await writeFile(keyPath, creds.keyPem, { mode: 0o600 });
  return { certPath, keyPath };
}
