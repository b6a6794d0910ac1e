/**
 * The keys and certificates of a floor run, of the kinds the real verify
 * benchmark uses: a fleet CA (RSA-2048, as `vigil-server init` makes it for
 * the benchmarks), a broker certificate for `localhost` (RSA-2048), and one
 * device certificate per device from the fleet CA (SAN
 * `urn:vigil:device:<id>`, the identity the server reads), all for a TLS
 * key from the fleet simulator's pool (`tlsKeyPool`, as the fleet's devices
 * draw theirs). Each device also gets an ECC P-256 AK. Made once per run
 * and shared by its variants; the private keys cross to the children over
 * IPC only, never to a file.
 */
import { generateKeyPairSync } from 'node:crypto';
import { FleetCa, generateRsaKeyPair, privateKeyToPem } from '@vigil/server';
import { tlsKeyPool } from '../fleet/key-pool.js';
import type { DeviceRecord } from './messages.js';

export interface FloorTlsCredentials {
  readonly caPem: string;
  readonly server: { readonly certPem: string; readonly keyPem: string };
  /** The devices' TLS key (PKCS#8 PEM), certified by every device certificate. */
  readonly deviceKeyPem: string;
}

export interface FloorCredentials {
  /** Each device's AK (both halves) and, with `tls`, its certificate. */
  readonly devices: ReadonlyArray<DeviceRecord & { readonly akSpki: Uint8Array }>;
  readonly tls?: FloorTlsCredentials;
}

const VALIDITY_MS = 6 * 3_600_000;

/** `count` devices `floor-<i>`; certificates only when `tls` (a run of the `tcp` variant alone needs none). */
export async function makeFloorCredentials(count: number, tls: boolean): Promise<FloorCredentials> {
  const devices = Array.from({ length: count }, (_, i) => {
    // DER from the generating job itself: exporting its KeyObjects can deadlock in Node 20 (generateKeyPair in tpm2-ts).
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } });
    return {
      deviceId: `floor-${i}`,
      akPkcs8: new Uint8Array(privateKey),
      akSpki: new Uint8Array(publicKey),
    };
  });
  if (!tls) return { devices };
  const ca = await FleetCa.create({ keyBits: 2048, commonName: 'Vigil floor benchmark CA' });
  const serverKeys = await generateRsaKeyPair(2048);
  const server = ca.issueServerCertificate({ publicKey: serverKeys.publicKey, sans: ['localhost'], validityMs: VALIDITY_MS });
  const [deviceKeyPem] = await tlsKeyPool(1);
  return {
    tls: { caPem: ca.certificatePem, server: { certPem: server.pem, keyPem: privateKeyToPem(serverKeys.privateKey) }, deviceKeyPem: deviceKeyPem! },
    devices: devices.map((d) => ({ ...d, certPem: ca.issueDeviceCertificate({ publicKey: deviceKeyPem!, deviceId: d.deviceId, validityMs: VALIDITY_MS }).pem })),
  };
}
