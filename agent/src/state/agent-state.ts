import { createPrivateKey, X509Certificate } from 'node:crypto';
import { type CommandRunner, createEk, flushKey, type KeyBlobs, type LoadedKey, loadAk, type Ek, TpmResponseError } from '@vigil/tpm2-ts';
import { loadAkBlobs, saveAkBlobs } from '../tpm/ak-files.js';
import { enrollmentRecordValidator, type EnrollmentRecord } from './enrollment-record.js';
import { StateError } from './errors.js';
import { assertOwnerOnly, ensureStateDir, PUBLIC_MODE, readTextIfExists, SECRET_MODE, writeFileAtomic } from './files.js';
import { statePaths } from './paths.js';

/** What an enrolled agent connects with: its key, its fleet certificate and the CA to verify the server with. */
export interface EnrolledIdentity {
  readonly record: EnrollmentRecord;
  readonly deviceId: string;
  /** PKCS#8 PEM. Secret. */
  readonly keyPem: string;
  readonly certificatePem: string;
  readonly caPem: string;
}

/** The enrollment facts, or undefined when the agent has not completed an enrollment. */
export async function readEnrollment(stateDir: string): Promise<EnrollmentRecord | undefined> {
  const path = statePaths(stateDir).enrollment;
  const text = await readTextIfExists(path);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new StateError('malformed', `${path} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!enrollmentRecordValidator.Check(value)) {
    const first = enrollmentRecordValidator.Errors(value)[0];
    throw new StateError('malformed', `${path} is not an enrollment record${first ? ` (${first.instancePath || '/'}: ${first.message})` : ''}`);
  }
  return value;
}

/**
 * Everything an enrolled agent needs to connect as its device. Refuses a key
 * file others can read, a certificate that is not for the key, and files
 * that are missing (`StateError` `missing`: enroll first).
 */
export async function loadEnrolledIdentity(stateDir: string): Promise<EnrolledIdentity> {
  const paths = statePaths(stateDir);
  const record = await readEnrollment(stateDir);
  if (record === undefined) throw new StateError('missing', `${stateDir} holds no enrollment (run vigil-agent enroll)`);
  const [keyPem, certificatePem, caPem] = await Promise.all([
    readTextIfExists(paths.key),
    readTextIfExists(paths.deviceCertificate),
    readTextIfExists(paths.caCertificate),
  ]);
  if (keyPem === undefined || certificatePem === undefined || caPem === undefined) {
    throw new StateError('missing', `${stateDir} is incomplete: device.key, device.pem and ca.pem are all needed`);
  }
  await assertOwnerOnly(paths.key);
  try {
    const cert = new X509Certificate(certificatePem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new Error('device.pem is not the certificate of device.key');
  } catch (err) {
    throw new StateError('malformed', `${paths.deviceCertificate}: ${(err as Error).message}`, { cause: err });
  }
  return { record, deviceId: record.deviceId, keyPem, certificatePem, caPem };
}

/**
 * Records a completed enrollment: `device.pem`, `ca.pem`, then
 * `enrollment.json` (last: its presence means the enrollment is complete).
 * The key (`device.key`) and AK blobs are already in place.
 */
export async function saveEnrollment(stateDir: string, enrollment: { record: EnrollmentRecord; certificatePem: string; caPem: string }): Promise<void> {
  if (!enrollmentRecordValidator.Check(enrollment.record)) throw new StateError('malformed', 'refusing to write an invalid enrollment record');
  const paths = statePaths(stateDir);
  await ensureStateDir(stateDir);
  await writeFileAtomic(paths.deviceCertificate, enrollment.certificatePem, PUBLIC_MODE);
  await writeFileAtomic(paths.caCertificate, enrollment.caPem, PUBLIC_MODE);
  await writeFileAtomic(paths.enrollment, JSON.stringify(enrollment.record, null, 2) + '\n', SECRET_MODE);
}

/** The AK blobs kept in the state directory (`ak.pub`, `ak.priv`), or undefined. */
export async function readAkBlobs(stateDir: string): Promise<KeyBlobs | undefined> {
  try {
    return await loadAkBlobs(stateDir);
  } catch (err) {
    throw new StateError('malformed', `the AK files in ${stateDir} cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

export async function writeAkBlobs(stateDir: string, blobs: Pick<KeyBlobs, 'public' | 'private'>): Promise<void> {
  await ensureStateDir(stateDir);
  try {
    await saveAkBlobs(stateDir, blobs);
  } catch (err) {
    throw new StateError('io', `cannot write the AK files to ${stateDir}: ${(err as Error).message}`, { cause: err });
  }
}

/** The enrolled AK loaded in the TPM under its EK, ready to quote. */
export interface EnrolledAk {
  readonly ek: Ek;
  readonly ak: LoadedKey;
  readonly blobs: KeyBlobs;
  /** Flushes the AK and the EK from the TPM. */
  release(): Promise<void>;
}

/**
 * Loads the AK recorded at enrollment: re-creates the EK of the recorded
 * kind from its template (the same key every time while the endorsement
 * seed is unchanged), checks it is the EK enrolled (same Name), and loads
 * the AK blobs under it. A different EK Name, or blobs the TPM refuses,
 * mean the TPM was cleared or replaced: `StateError` `tpm-changed`, and the
 * device must enroll again. TPM transport errors pass through.
 */
export async function loadEnrolledAk(tpm: CommandRunner, stateDir: string, record: EnrollmentRecord): Promise<EnrolledAk> {
  const blobs = await readAkBlobs(stateDir);
  if (blobs === undefined) throw new StateError('missing', `${stateDir} has no AK files (ak.pub, ak.priv)`);
  if (hex(blobs.name) !== record.tpm.akName) throw new StateError('malformed', `the AK files in ${stateDir} are not the AK enrolled (Name differs)`);
  const ek = await createEk(tpm, record.tpm.ekKind);
  try {
    if (hex(ek.name) !== record.tpm.ekName) {
      throw new StateError('tpm-changed', `the TPM's ${record.tpm.ekKind} EK is not the one enrolled: the TPM was cleared or replaced; enroll again`);
    }
    let ak: LoadedKey;
    try {
      ak = await loadAk(tpm, ek, blobs);
    } catch (err) {
      // Warnings (TPM_RC_OBJECT_MEMORY, TPM_RC_RETRY, ...) are about the TPM's state now, not about the key: not a cleared TPM.
      if (err instanceof TpmResponseError && !err.decoded.warning) {
        throw new StateError('tpm-changed', `the TPM refuses the enrolled AK (${err.message}): the TPM was cleared or replaced; enroll again`, { cause: err });
      }
      throw err;
    }
    return {
      ek,
      ak,
      blobs,
      release: async () => {
        await flushKey(tpm, ak);
        await flushKey(tpm, ek);
      },
    };
  } catch (err) {
    await flushKey(tpm, ek).catch(() => undefined);
    throw err;
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
