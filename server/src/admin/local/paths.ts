import { join } from 'node:path';
import type { DataDir } from '../../datadir.js';

/** Where the admin API and the CLI on the server host meet, inside the data directory. */
export interface AdminPaths {
  /** `DIR/run/` (0700): files that exist only while a server runs. */
  readonly runDir: string;
  /** `DIR/run/admin.json`: the running server's admin endpoint (see run-file.ts). */
  readonly runFile: string;
  /** `DIR/admin/` (0700): the local admin credential. */
  readonly credentialDir: string;
  readonly certificate: string;
  /** 0600. */
  readonly key: string;
  /** The fleet CA, beside the credential so the directory is a complete credential for curl. */
  readonly ca: string;
}

export function adminPaths(paths: DataDir): AdminPaths {
  const credentialDir = join(paths.root, 'admin');
  return {
    runDir: join(paths.root, 'run'),
    runFile: join(paths.root, 'run', 'admin.json'),
    credentialDir,
    certificate: join(credentialDir, 'admin.pem'),
    key: join(credentialDir, 'admin.key'),
    ca: join(credentialDir, 'ca.pem'),
  };
}

/** The name of the credential `init` and `start` keep in `DIR/admin/` (audit actor `admin:local`). */
export const LOCAL_ADMIN_NAME = 'local';
