/** Reading attestation results in assertions: the verdict, and its reason codes as `submodule/code`. */
import type { AttestationResult } from '@vigil/protocol';

/** The verdict of a result, or a failure naming what came instead. */
export function verdictOf(result: AttestationResult) {
  if (!result.ok) throw new Error(`expected a verdict, got error ${result.error}: ${result.message}`);
  return result.verdict;
}

/** Every reason code of a verdict, as `submodule/code`. */
export function reasonCodes(result: AttestationResult): string[] {
  const v = verdictOf(result);
  return Object.entries(v.submods).flatMap(([sub, a]) => (a?.['vigil.reasons'] ?? []).map((r) => `${sub}/${r.code}`));
}

/** `reasonCodes`, or `error:<error>` for a result that is no verdict (an attack refused before appraisal). */
export function resultCodes(result: AttestationResult): string[] {
  return result.ok ? reasonCodes(result) : [`error:${result.error}`];
}
