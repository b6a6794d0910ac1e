/**
 * TLS keys for simulated devices. The fleet CA certifies RSA keys only
 * (node-forge assembles its certificates) and the registrar wants RSA-2048
 * bootstrap keys, but generating one costs 100-400 ms of CPU on the
 * benchmark machine: 10,000 devices would spend most of an hour on keys. So
 * devices draw their TLS key from a pool (device i gets key i mod size);
 * every device still has its own certificate, device id, AK and connection,
 * and the TLS handshake costs the same whoever else holds the key. The pool
 * is kept between runs in a 0700 directory of 0600 files under the system
 * temp dir and generated on libuv's thread pool when missing.
 */
import { generateKeyPair } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const generate = promisify(generateKeyPair);

export const DEFAULT_KEY_POOL_DIR = join(tmpdir(), `vigil-bench-tls-keys-${userInfo().uid}`);

/** `size` RSA-2048 private keys (PKCS#8 PEM), from `dir` where present, generated (and stored) where not. */
export async function tlsKeyPool(size: number, dir = DEFAULT_KEY_POOL_DIR): Promise<string[]> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Refuse a directory someone else can read: these keys authenticate devices in the run.
  if ((statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
  const keys: Array<string | undefined> = [];
  const missing: number[] = [];
  for (let i = 0; i < size; i++) {
    try {
      keys[i] = readFileSync(join(dir, `key-${i}.pem`), 'utf8');
    } catch {
      missing.push(i);
    }
  }
  // A few at a time on the thread pool: both cores, without starving the rest of the process.
  for (let at = 0; at < missing.length; at += 4) {
    await Promise.all(
      missing.slice(at, at + 4).map(async (i) => {
        // PEM from the generating job itself: exporting its KeyObject can deadlock in Node 20 (generateKeyPair in tpm2-ts).
        const { privateKey: pem } = await generate('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
        writeFileSync(join(dir, `key-${i}.pem`), pem, { mode: 0o600 });
        keys[i] = pem;
      }),
    );
  }
  return keys as string[];
}
