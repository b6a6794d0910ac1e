import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, unwatchFile, watchFile } from 'node:fs';
import { promisify } from 'node:util';
import { CoalescedTask } from '@vigil/runtime';
import type { Logger } from '../log.js';

const exec = promisify(execFile);
const read = promisify(readFile);

/**
 * Tells the external broker that the CRL changed. Mosquitto reads its
 * `crlfile` at start and on SIGHUP only, so a certificate revoked after the
 * broker started would pass its TLS handshake until the broker reloads.
 * Vigil does not depend on that for cutting a device off (the
 * dynamic-security plugin does it at once), but the handshake is where a
 * revoked or superseded certificate should be refused. This runs the
 * configured command (argv, no shell, `VIGIL_CRL_FILE` in its environment)
 * whenever the CRL file's content changed since the last successful run:
 * it polls the file (it is replaced by rename, which a watch on the old
 * inode would miss). Before a device is let (back) in, and at start,
 * `publish` first reissues this replica's CRL from the store (`refresh`):
 * another replica may have revoked certificates this replica's file does
 * not list yet, and the broker must refuse them before the device's access
 * is restored. Several replicas hand over their CRLs; the command should
 * install one only if its cRLNumber (time-based, so comparable across
 * replicas) is newer than the installed one, as
 * deploy/mosquitto/install-crl.sh does.
 */
export class CrlReloader {
  #applied: string | undefined;
  readonly #handOver = new CoalescedTask(() => this.#handOverOnce());
  #watching = false;

  constructor(
    private readonly path: string,
    private readonly command: readonly string[],
    private readonly log: Logger,
    /** Reissues the CRL file from the store. */
    private readonly refresh: () => Promise<void>,
    private readonly pollMs = 1000,
  ) {}

  get enabled(): boolean {
    return this.command.length > 0;
  }

  /** Hands the broker a CRL fresh from the store, then watches the file. */
  async start(): Promise<void> {
    if (!this.enabled) return;
    await this.publish();
    watchFile(this.path, { interval: this.pollMs, persistent: false }, () => void this.sync());
    this.#watching = true;
  }

  /** Reissues the CRL from the store and hands it to the broker; resolves when the broker was told (never rejects). */
  async publish(): Promise<void> {
    if (!this.enabled) return;
    await this.refresh().catch((err: unknown) => this.log.error({ err: (err as Error).message }, 'could not reissue the CRL from the store'));
    await this.sync();
  }

  stop(): void {
    if (this.#watching) unwatchFile(this.path);
    this.#watching = false;
  }

  /** Resolves once the broker was told about the CRL as it is now (if it changed); never rejects. */
  async sync(): Promise<void> {
    if (!this.enabled) return;
    await this.#handOver.run();
  }

  async #handOverOnce(): Promise<void> {
    let digest: string;
    try {
      digest = createHash('sha256').update(await read(this.path)).digest('hex');
    } catch (err) {
      this.log.error({ err: (err as Error).message, file: this.path }, 'cannot read the CRL to hand it to the broker');
      return;
    }
    if (digest === this.#applied) return;
    const [program, ...args] = this.command;
    try {
      await exec(program!, args, { timeout: 30_000, env: { ...process.env, VIGIL_CRL_FILE: this.path } });
      this.#applied = digest;
      this.log.info({ file: this.path }, 'the broker was told to reload the CRL');
    } catch (err) {
      this.log.error({ err: (err as Error).message, command: program }, 'the CRL reload command failed; the broker may still accept revoked certificates at the handshake');
    }
  }
}
