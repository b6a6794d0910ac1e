import { join, resolve } from 'node:path';

/**
 * The server's data directory: everything the verifier owns lives here and
 * nothing secret is written outside it. Created by `vigil-server init`.
 * Secret files (keys) are mode 0600; the directory itself 0700.
 */
export interface DataDir {
  readonly root: string;
  /** Commented YAML configuration written by `init`. */
  readonly config: string;
  /** Fleet CA certificate (PEM): what devices and operators trust. Not secret. */
  readonly caCert: string;
  /** Fleet CA private key (PEM, 0600). */
  readonly caKey: string;
  /** Broker TLS server certificate (PEM), issued by the fleet CA. */
  readonly serverCert: string;
  /** Broker TLS server key (PEM, 0600). */
  readonly serverKey: string;
  /** Certificate revocation list (PEM), reissued on every revocation. */
  readonly crl: string;
  /** SQLite database (WAL mode; -wal and -shm files beside it). */
  readonly database: string;
}

export function dataDir(root: string): DataDir {
  const r = resolve(root);
  return {
    root: r,
    config: join(r, 'config.yaml'),
    caCert: join(r, 'ca.pem'),
    caKey: join(r, 'ca.key'),
    serverCert: join(r, 'server.pem'),
    serverKey: join(r, 'server.key'),
    crl: join(r, 'crl.pem'),
    database: join(r, 'vigil.db'),
  };
}

/** Default data directory: $VIGIL_DATA, else /var/lib/vigil. */
export function defaultDataRoot(): string {
  return process.env['VIGIL_DATA'] ?? '/var/lib/vigil';
}
