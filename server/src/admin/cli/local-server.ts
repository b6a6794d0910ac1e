import { readFile } from 'node:fs/promises';
import type { DataDir } from '../../datadir.js';
import { AdminClient } from '../client/admin-client.js';
import { loadClientCredential } from '../local/credential-files.js';
import { adminPaths } from '../local/paths.js';
import { processAlive, readRunFile } from '../local/run-file.js';
import { CliError, ExitCode } from '../../cli/exit-codes.js';

/** How long the CLI waits for a running server's health answer before treating it as not running. */
const HEALTH_TIMEOUT_MS = 3000;

/**
 * The admin API of the server running for this data directory, with the
 * local admin credential, or undefined when none runs: no run file, its
 * process is gone, or its endpoint does not answer a health check (a server
 * killed without cleaning up, or a frozen one).
 *
 * @throws CliError when a server answers but the local credential cannot be
 *   read (wrong user): working on the database behind its back would be wrong.
 */
export async function findRunningServer(paths: DataDir): Promise<AdminClient | undefined> {
  const files = adminPaths(paths);
  const run = await readRunFile(files);
  if (run === undefined || !processAlive(run.pid)) return undefined;
  let caPem: string;
  try {
    caPem = await readFile(paths.caCert, 'utf8');
  } catch {
    return undefined;
  }
  const endpoint = { host: run.host, port: run.port, certificateSha256: run.certificateSha256 };
  const probe = new AdminClient(endpoint, { caPem }, { timeoutMs: HEALTH_TIMEOUT_MS });
  const healthy = await probe.healthy();
  probe.close();
  if (!healthy) return undefined;
  let credential;
  try {
    credential = await loadClientCredential(paths);
  } catch (err) {
    throw new CliError(
      `vigil-server is running for ${paths.root} (pid ${run.pid}) but the local admin credential in ${files.credentialDir} cannot be used: ${(err as Error).message} (run this command as the server's user)`,
      ExitCode.Io,
      { cause: err },
    );
  }
  return new AdminClient(endpoint, credential);
}
