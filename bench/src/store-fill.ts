/**
 * What the store benchmarks (`prune`, `store`) fill a real SQLite store
 * with: enrolled devices, verdicts like the verifier's, and challenge ids
 * shaped like sealed ones.
 */
import { randomBytes } from 'node:crypto';
import { generateEnrollmentToken, hashEnrollmentToken, type Store } from '@vigil/server';

const HOUR_MS = 3_600_000;

/** `count` devices enrolled with one token, ids `bench-0`…: their ids. */
export async function enrollDevices(store: Store, count: number): Promise<string[]> {
  const token = generateEnrollmentToken();
  await store.createToken({ hash: hashEnrollmentToken(token), maxUses: count, expiresAt: Date.now() + HOUR_MS, actor: 'bench' });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = `bench-${i}`;
    const enrolled = await store.enrollDevice({
      tokenHash: hashEnrollmentToken(token),
      device: {
        id,
        ekPublic: randomBytes(300),
        ekName: '000b' + randomBytes(32).toString('hex'),
        akPublic: randomBytes(90),
        akName: '000b' + randomBytes(32).toString('hex'),
        facts: { hostname: id, os: 'bench', arch: 'x64', agentVersion: '0', tpm: { manufacturer: 'SIM', firmwareVersion: '0' } },
      },
      certificate: { serial: randomBytes(8).toString('hex'), notBefore: 0, notAfter: Date.now() + HOUR_MS, pem: 'PEM' },
      actor: 'bench',
    });
    if (!enrolled.ok) throw new Error(`enrolling ${id}: ${JSON.stringify(enrolled)}`);
    ids.push(id);
  }
  return ids;
}

/** A verdict as the verifier stores one for an affirming device (~800 bytes of JSON, like the real ones). */
export const SAMPLE_VERDICT = {
  eat_profile: 'tag:github.com,2023:veraison/ear',
  iat: 1_795_933_793,
  'ear.verifier-id': { developer: 'vigil', build: 'vigil-server 0.1.0' },
  eat_nonce: 'c12e17ea878b7de16a1a5bc5613f3630ba89530c33a8caf0efe24a9cdc4a2dcf',
  submods: {
    boot: { 'ear.status': 'affirming', 'ear.trustworthiness-vector': { executables: 3, configuration: 2 }, 'ear.appraisal-policy-id': 'fleet' },
    models: { 'ear.status': 'affirming', 'ear.trustworthiness-vector': { executables: 2, 'file-system': 2 }, 'ear.appraisal-policy-id': 'fleet' },
    identity: { 'ear.status': 'affirming', 'ear.trustworthiness-vector': { 'instance-identity': 2, hardware: 2 }, 'ear.appraisal-policy-id': 'fleet' },
  },
  'vigil.device-id': 'sim-30aa8e-200',
  'vigil.challenge-id': 'AQGiJf9iogWPW140AAAAAAAPT5IAAAABAAAAAABj_1kHm2Y_osEuF-qHi33haho',
  'vigil.evidence-received-at': 1_795_933_793_749,
} as const;

/** An id shaped like a sealed challenge id: version, expiry (6 bytes, big-endian), flags, random, one PCR mask, two tags. */
export function sealedLikeId(expiresAt: number): string {
  const raw = randomBytes(31);
  raw[0] = 1;
  raw.writeUIntBE(expiresAt, 1, 6);
  raw[7] = 0x04;
  return raw.toString('base64url');
}

