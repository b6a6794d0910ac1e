import { hash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { EvidenceError } from './errors.js';

/** Where Linux exposes the firmware's TCG event log. */
export const DEFAULT_BOOT_LOG_PATH = '/sys/kernel/security/tpm0/binary_bios_measurements';

export interface BootLogFile {
  readonly bytes: Uint8Array;
  /** Lowercase hex SHA-256 of the raw log. */
  readonly digest: string;
}

/**
 * The boot event log, or undefined when the platform has none (no file:
 * virtual TPMs and many embedded boards). Read whole: event logs are tens of
 * KiB. Other read errors are EvidenceError `log-unreadable`.
 */
export async function readBootLog(path: string): Promise<BootLogFile | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new EvidenceError('log-unreadable', `${path}: ${(err as Error).message}`, { cause: err });
  }
  return { bytes, digest: hash('sha256', bytes, 'hex') };
}
