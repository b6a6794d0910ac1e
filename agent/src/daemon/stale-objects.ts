import { type CommandRunner, FlushContext, getHandles, HR, TPM_RC, TpmResponseError } from '@vigil/tpm2-ts';
import type { Logger } from '../log.js';

/** True when `err` (or an error it wraps) is TPM_RC_OBJECT_MEMORY: no room for another transient object. */
export function isObjectMemoryFull(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof TpmResponseError && e.is(TPM_RC.OBJECT_MEMORY)) return true;
  }
  return false;
}

/**
 * Flushes every transient object the TPM holds. Only for a TPM reached
 * without a resource manager (swtpm, the simulator, /dev/tpm0): there the
 * objects of a process that died (kill -9, power loss of the agent, not of
 * the TPM) stay loaded until the TPM is reset, and a TPM has room for only
 * a few (Part 3 §28.4; TPM_PT_HR_TRANSIENT_MIN is 3). Through /dev/tpmrm0
 * the kernel flushes a closed connection's objects and this sees none.
 */
export async function flushTransientObjects(tpm: CommandRunner): Promise<number> {
  const handles = await getHandles(tpm, HR.TRANSIENT);
  for (const h of handles) await tpm.execute(FlushContext, { flushHandle: h }).catch(() => undefined);
  return handles.length;
}

/**
 * Runs `load`; when the TPM has no room for its objects (left over by an
 * agent that was killed), flushes the stale transient objects and tries once more.
 */
export async function loadWithRoom<T>(tpm: CommandRunner, load: () => Promise<T>, log: Logger): Promise<T> {
  try {
    return await load();
  } catch (err) {
    if (!isObjectMemoryFull(err)) throw err;
    const flushed = await flushTransientObjects(tpm);
    log.warn({ flushed }, 'the TPM was full of transient objects left by an earlier process: flushed them');
    return load();
  }
}
