import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { FleetCa, RevokedCertificate } from '../pki/index.js';
import type { CrlJob, CrlReply } from './crl-protocol.js';

/**
 * The worker always runs from the built file: this module sits at the same
 * depth in src/ and dist/, so the URL resolves to dist/ from both (tests run
 * the sources).
 */
const WORKER_URL = new URL('../../dist/revocation/crl-worker.js', import.meta.url);

/**
 * Signs CRLs on a worker thread (see crl-worker.ts), one at a time. Falls
 * back to signing in this thread when the worker is not built.
 */
export class CrlSigner {
  #worker: Worker | undefined;
  #broken = false;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (pem: string) => void; reject: (err: Error) => void }>();

  constructor(private readonly ca: FleetCa) {}

  async issue(entries: readonly RevokedCertificate[], crlNumber: bigint, validityMs: number): Promise<string> {
    try {
      return await this.#inWorker(entries, crlNumber, validityMs);
    } catch (err) {
      if (!(err instanceof WorkerFailure)) throw err;
      // A worker that cannot start or died: sign here rather than leave the CRL stale.
      this.#broken = true;
      return this.ca.issueCrl(entries, { crlNumber, validityMs });
    }
  }

  #inWorker(entries: readonly RevokedCertificate[], crlNumber: bigint, validityMs: number): Promise<string> {
    const worker = this.#spawn();
    if (worker === undefined) return this.ca.issueCrl(entries, { crlNumber, validityMs });
    const id = this.#nextId++;
    const job: CrlJob = {
      id,
      entries: entries.map((e) => ({ serial: e.serial, revokedAt: e.revokedAt.getTime(), reason: e.reason ?? 'unspecified' })),
      crlNumber: crlNumber.toString(),
      validityMs,
    };
    return new Promise<string>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    const w = this.#worker;
    this.#worker = undefined;
    await w?.terminate();
  }

  #spawn(): Worker | undefined {
    if (this.#worker !== undefined) return this.#worker;
    if (this.#broken || !existsSync(WORKER_URL)) return undefined;
    // Plain Node options: the worker runs built JavaScript, whatever loader flags this process has (vitest's).
    const worker = new Worker(WORKER_URL, { execArgv: [], workerData: { caCertificatePem: this.ca.certificatePem, caKeyPem: this.ca.privateKeyPem() } });
    worker.unref();
    worker.on('message', (reply: CrlReply) => {
      const p = this.#pending.get(reply.id);
      if (p === undefined) return;
      this.#pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.pem);
      else p.reject(new Error(`CRL: ${reply.message}`));
    });
    worker.on('error', (err) => {
      for (const p of this.#pending.values()) p.reject(new WorkerFailure(err));
      this.#pending.clear();
      this.#worker = undefined;
    });
    this.#worker = worker;
    return worker;
  }
}

/** The worker itself failed (not the CRL it was making). */
class WorkerFailure extends Error {
  constructor(cause: Error) {
    super(`CRL worker failed: ${cause.message}`, { cause });
    this.name = 'WorkerFailure';
  }
}
