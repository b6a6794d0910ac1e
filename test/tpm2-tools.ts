// Runs tpm2-tools against a test's swtpm (TCP mode: the swtpm TCTI wants the
// control port at data port + 1). With no resource manager between the tools
// and swtpm, every object or session a tool loads stays loaded after it
// exits, and swtpm holds only three objects: each call therefore flushes
// transient objects afterwards, unless told to keep them. (The tools flush
// the sessions they start themselves.)
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Tpm2Tools {
  /** Runs `tool args...` in `cwd`; rejects with the tool's stderr on a non-zero exit. Returns stdout. */
  (tool: string, args: readonly string[], options?: { readonly keepLoaded?: boolean }): Promise<string>;
  /** The directory the tools run in (relative file arguments are relative to it). */
  readonly cwd: string;
}

export function tpm2Tools(tcti: string, cwd: string): Tpm2Tools {
  const env = { ...process.env, TPM2TOOLS_TCTI: tcti };
  const exec = async (tool: string, args: readonly string[]): Promise<string> => {
    try {
      return (await run(tool, [...args], { cwd, env, maxBuffer: 1 << 20 })).stdout;
    } catch (e) {
      const err = e as { stderr?: string; code?: number };
      throw new Error(`${tool} ${args.join(' ')} failed (exit ${err.code}):\n${err.stderr ?? String(e)}`, { cause: e });
    }
  };
  const tools = async (tool: string, args: readonly string[], options?: { readonly keepLoaded?: boolean }): Promise<string> => {
    try {
      return await exec(tool, args);
    } finally {
      if (options?.keepLoaded !== true) await exec('tpm2_flushcontext', ['-t']);
    }
  };
  return Object.assign(tools, { cwd });
}
