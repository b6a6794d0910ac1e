import type { Ear } from '../schema/ear.js';
import { SUBMODULES, type EarStatus } from './names.js';

/**
 * Severity order used to combine statuses: affirming < none < warning <
 * contraindicated. `none` ranks above affirming because a submodule that
 * could not be appraised must not let the device count as affirmed (zero
 * trust: no evidence is not good evidence); a policy that does not appraise a
 * submodule omits it instead.
 */
const RANK: Readonly<Record<EarStatus, number>> = { affirming: 0, none: 1, warning: 2, contraindicated: 3 };

/** The worse of two statuses. */
export function worseStatus(a: EarStatus, b: EarStatus): EarStatus {
  return RANK[a] >= RANK[b] ? a : b;
}

/** The worst of several statuses; `none` for an empty list. */
export function worstStatus(statuses: Iterable<EarStatus>): EarStatus {
  let worst: EarStatus | undefined;
  for (const s of statuses) worst = worst === undefined ? s : worseStatus(worst, s);
  return worst ?? 'none';
}

/** A verdict's overall status: the worst of its submodules' `ear.status`. */
export function overallStatus(ear: Ear): EarStatus {
  const statuses: EarStatus[] = [];
  for (const name of SUBMODULES) {
    const appraisal = ear.submods[name];
    if (appraisal !== undefined) statuses.push(appraisal['ear.status']);
  }
  return worstStatus(statuses);
}
