/**
 * Enrolled identities for simulated devices, registered the way the
 * registrar commits a successful enrollment (`store.enrollDevice`: device
 * row with EK and AK, certificate, token use, audit entry, one
 * transaction) and with a device certificate from the fleet CA — without
 * the MakeCredential round trip, which `registrar-enrollment.ts` does over
 * MQTT when a run wants real enrollment.
 */
import { createPrivateKey } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { generateEnrollmentToken, hashEnrollmentToken, type FleetCa, type Store } from '@vigil/server';
import { objectName } from '@vigil/tpm2-ts';
import { SoftwareTpm, type SimAkKind, type SoftwareTpmState } from './software-tpm.js';

/** An enrolled simulated device's credentials. */
export interface SimIdentity {
  readonly deviceId: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly serial: string;
  readonly tpm: SoftwareTpm;
}

/** A `SimIdentity` as text, to hand to another process. Contains private keys. */
export interface SimIdentityRecord {
  readonly deviceId: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly serial: string;
  readonly tpm: SoftwareTpmState;
}

export function identityRecord(identity: SimIdentity): SimIdentityRecord {
  const { deviceId, certPem, keyPem, serial } = identity;
  return { deviceId, certPem, keyPem, serial, tpm: identity.tpm.toState() };
}

export function identityFromRecord(record: SimIdentityRecord): SimIdentity {
  const { deviceId, certPem, keyPem, serial } = record;
  return { deviceId, certPem, keyPem, serial, tpm: new SoftwareTpm({ state: record.tpm }) };
}

export interface EnrollSimOptions {
  /** TLS keys (PKCS#8 PEM, RSA ≥ 2048): device i uses keys[i mod length] (see `tlsKeyPool`). */
  readonly keys: readonly string[];
  readonly akKind?: SimAkKind;
  /** Device certificate validity (default 1 h). */
  readonly validityMs?: number;
  /** Who the store's token and audit entries name (default `sim-fleet`). */
  readonly actor?: string;
  /** Called after each device, e.g. for progress output. */
  readonly onEnrolled?: (done: number) => void;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/**
 * Registers `count` simulated devices in the store as the registrar would
 * after a successful enrollment: one token (one use per device), a device
 * certificate from the fleet CA, the AK's public area. Ids are
 * `<prefix>-<6 hex>-<i>`, so two calls never collide.
 */
export async function enrollSimDevices(store: Store, ca: FleetCa, count: number, prefix: string, options: EnrollSimOptions): Promise<SimIdentity[]> {
  if (options.keys.length === 0) throw new RangeError('enrollSimDevices needs at least one TLS key');
  const token = generateEnrollmentToken();
  const tokenHash = hashEnrollmentToken(token);
  const actor = options.actor ?? 'sim-fleet';
  await store.createToken({ hash: tokenHash, maxUses: count, expiresAt: Date.now() + 3_600_000, actor, label: `${prefix} fleet (simulated)` });
  const publicKeys = options.keys.map((pem) => createPrivateKey(pem));
  const out: SimIdentity[] = [];
  const tag = randomBytes(3).toString('hex');
  for (let i = 0; i < count; i++) {
    const deviceId = `${prefix}-${tag}-${i}`;
    const tpm = new SoftwareTpm({ akKind: options.akKind ?? 'ecc' });
    const keyIndex = i % options.keys.length;
    const issued = ca.issueDeviceCertificate({ publicKey: publicKeys[keyIndex]!, deviceId, validityMs: options.validityMs ?? 3_600_000 });
    const enrolled = await store.enrollDevice({
      tokenHash,
      device: {
        id: deviceId,
        ekPublic: tpm.ekPublicBytes,
        ekName: hex(objectName(tpm.ekPublic)),
        ekCertificate: null,
        akPublic: tpm.akPublicBytes,
        akName: tpm.akNameHex,
        facts: { hostname: deviceId, os: 'simulated', arch: process.arch, agentVersion: 'sim', tpm: { manufacturer: 'SIM', firmwareVersion: '1' } },
      },
      certificate: { serial: issued.serial, notBefore: issued.notBefore.getTime(), notAfter: issued.notAfter.getTime(), pem: issued.pem },
      actor,
    });
    if (!enrolled.ok) throw new Error(`could not register simulated device ${deviceId}: ${enrolled.reason}`);
    out.push({ deviceId, certPem: issued.pem, keyPem: options.keys[keyIndex]!, serial: issued.serial, tpm });
    options.onEnrolled?.(i + 1);
  }
  return out;
}
