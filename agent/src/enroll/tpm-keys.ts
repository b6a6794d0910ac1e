import {
  AK_TEMPLATES,
  type AkKind,
  type CommandRunner,
  createAk,
  createEk,
  type Ek,
  type EkKind,
  flushKey,
  type KeyBlobs,
  type LoadedKey,
  loadAk,
  readEkCertificate,
  TpmResponseError,
} from '@vigil/tpm2-ts';
import type { Logger } from 'pino';
import { readAkBlobs, writeAkBlobs } from '../state/agent-state.js';

/**
 * The EK an AK of each kind is created under, in order of preference; the
 * first whose certificate is in NV wins (the server needs the certificate to
 * trust the TPM), else the first.
 *
 * - `rsa`: the RSA 2048 EK (template L-1, certificate at NV 0x01c00002),
 *   which every PC Client TPM and swtpm provision.
 * - `ecc`: the ECC NIST P-384 EK (high-range template H-3, NV 0x01c00016),
 *   which swtpm_setup provisions with a certificate, then the P-256 EK
 *   (template L-2, NV 0x01c0000a) that hardware TPMs tend to carry. The AK
 *   itself is ECC P-256 either way: a child's type does not depend on its parent's.
 */
export const EK_CANDIDATES: Readonly<Record<AkKind, readonly EkKind[]>> = {
  rsa: ['rsa'],
  ecc: ['ecc-p384', 'ecc'],
};

/** The EK and AK of an enrollment, loaded in the TPM. */
export interface EnrollmentKeys {
  readonly ekKind: EkKind;
  readonly ek: Ek;
  /** DER from NV, or undefined when the TPM has none for this EK. */
  readonly ekCertificate: Uint8Array | undefined;
  readonly akKind: AkKind;
  readonly ak: LoadedKey;
  readonly akBlobs: KeyBlobs;
  /** True when the AK was created now rather than loaded from the state directory. */
  readonly akCreated: boolean;
  /** Flushes the AK and the EK from the TPM. */
  release(): Promise<void>;
}

/**
 * Creates the EK (from its TCG template: the same key every time) and loads
 * the AK kept in the state directory, or creates one under the EK and keeps
 * it there (`ak.pub`, `ak.priv`). Kept as blobs rather than at a persistent
 * handle: a persistent handle needs owner authorization (EvictControl) and
 * one of the few NV slots, while the blobs are useless outside this TPM (the
 * private part is wrapped by the EK) and load again as long as the
 * endorsement seed is unchanged. Blobs of the other kind, or that this TPM
 * refuses (it was cleared, or the AK was made under another EK), are
 * replaced by a new AK.
 */
export async function prepareEnrollmentKeys(tpm: CommandRunner, akKind: AkKind, stateDir: string, log: Logger): Promise<EnrollmentKeys> {
  const candidates = EK_CANDIDATES[akKind];
  let ekKind = candidates[0]!;
  let ekCertificate: Uint8Array | undefined;
  for (const kind of candidates) {
    const der = await readEkCertificate(tpm, kind);
    if (der !== undefined) {
      ekKind = kind;
      ekCertificate = der;
      break;
    }
  }
  if (ekCertificate === undefined) log.warn({ ekKinds: candidates }, 'the TPM has no EK certificate for these EKs: the server may refuse it');

  const ek = await createEk(tpm, ekKind);
  try {
    let akBlobs = await readAkBlobs(stateDir);
    let ak: LoadedKey | undefined;
    if (akBlobs !== undefined && akBlobs.public.type === AK_TEMPLATES[akKind].type) {
      try {
        ak = await loadAk(tpm, ek, akBlobs);
      } catch (err) {
        // Warnings (TPM_RC_OBJECT_MEMORY, TPM_RC_RETRY, ...) describe the TPM's state now, not the key: no reason to replace it.
        if (!(err instanceof TpmResponseError) || err.decoded.warning) throw err;
        log.warn({ err: err.message, ekKind }, 'the stored AK does not load under this EK (TPM cleared, or made under another EK): creating a new AK');
      }
    }
    const akCreated = ak === undefined;
    if (ak === undefined || akBlobs === undefined) {
      akBlobs = await createAk(tpm, ek, akKind);
      await writeAkBlobs(stateDir, akBlobs);
      ak = await loadAk(tpm, ek, akBlobs);
    }
    const loaded = ak;
    return {
      ekKind,
      ek,
      ekCertificate,
      akKind,
      ak: loaded,
      akBlobs,
      akCreated,
      release: async () => {
        await flushKey(tpm, loaded).catch(() => undefined);
        await flushKey(tpm, ek);
      },
    };
  } catch (err) {
    await flushKey(tpm, ek).catch(() => undefined);
    throw err;
  }
}
