import type { VerdictReason } from '@vigil/protocol/core';
import type { ModelFact } from '../facts.js';
import type { PreparedPolicy } from '../prepared-policy.js';
import { oneOf, reason } from './reason.js';

/** The fleet model allowlist (`vigil-server models allow`): name or path → allowed digests. */
export type FleetAllowlist = ReadonlyMap<string, ReadonlySet<string>>;

export interface ModelAppraisal {
  /** False when no allowlist applies (no policy entries and no fleet entries): only log integrity was checked. */
  readonly appraised: boolean;
  readonly reasons: VerdictReason[];
}

/** The file name of a path as the model log records it. */
function baseName(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

/**
 * Every model measurement of the current boot against the allowlist. An
 * allowlist key names a model file by absolute path (`/opt/models/a.onnx`)
 * or by file name (`a.onnx`); a measurement must match a digest listed for
 * its path, or else for its file name. A file no key names is
 * `model-unknown`; a listed file with another digest `model-digest-not-allowed`.
 * Every measurement counts, not only the latest per file: a model replaced
 * and restored during this boot still ran, and only a reboot clears the PCR.
 */
export function appraiseModels(policy: PreparedPolicy, measurements: readonly ModelFact[], fleet: FleetAllowlist): ModelAppraisal {
  const useFleet = policy.useFleetAllowlist && fleet.size > 0;
  if (policy.models.size === 0 && !useFleet) return { appraised: false, reasons: [] };
  const reasons: VerdictReason[] = [];
  for (const m of measurements) {
    const allowed = allowedFor(m.path, policy.models, useFleet ? fleet : undefined) ?? allowedFor(baseName(m.path), policy.models, useFleet ? fleet : undefined);
    if (allowed === undefined) {
      reasons.push(reason('model-unknown', `model file ${m.path} (entry ${m.entry}) is not on the allowlist`, { event: m.entry, path: m.path, actual: m.digest }));
    } else if (!allowed.has(m.digest)) {
      reasons.push(
        reason('model-digest-not-allowed', `model file ${m.path} (entry ${m.entry}) has a digest the allowlist does not allow`, {
          event: m.entry,
          path: m.path,
          expected: oneOf(allowed),
          actual: m.digest,
        }),
      );
    }
    if (reasons.length >= 32) break;
  }
  return { appraised: true, reasons };
}

function allowedFor(key: string, own: ReadonlyMap<string, ReadonlySet<string>>, fleet: FleetAllowlist | undefined): ReadonlySet<string> | undefined {
  const a = own.get(key);
  const b = fleet?.get(key);
  if (a === undefined) return b;
  if (b === undefined) return a;
  return new Set([...a, ...b]);
}
