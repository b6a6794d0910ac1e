import { SUBMODULES } from '@vigil/protocol/core';
import type { AttestationReason, NewAttestation } from './entities/attestation.js';

/**
 * The reasons of an attestation, flattened out of the verdict's submodules
 * (or the error when there is no verdict), so that `device show` and
 * queries need not walk the EAR. Shared by every Store implementation.
 */
export function flattenReasons(a: Pick<NewAttestation, 'verdict' | 'error'>): AttestationReason[] {
  const out: AttestationReason[] = [];
  if (a.verdict !== null) {
    for (const submodule of SUBMODULES) {
      for (const r of a.verdict.submods[submodule]?.['vigil.reasons'] ?? []) {
        out.push(r.where === undefined ? { submodule, code: r.code, message: r.message } : { submodule, code: r.code, message: r.message, where: r.where });
      }
    }
  }
  if (a.error !== null) out.push({ submodule: 'evidence', code: a.error.code, message: a.error.message });
  return out;
}
