/**
 * Worker thread entry for `CrlSigner`: builds and signs CRLs with the fleet
 * CA away from the event loop. A CRL of a thousand entries takes
 * @peculiar/x509 about half a second of JavaScript to encode; in the main
 * thread that would stall every verdict and broker message meanwhile.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { FleetCa } from '../pki/index.js';
import type { CrlJob, CrlReply } from './crl-protocol.js';

const { caCertificatePem, caKeyPem } = workerData as { caCertificatePem: string; caKeyPem: string };
const ca = FleetCa.fromPem(caCertificatePem, caKeyPem);

parentPort!.on('message', (job: CrlJob) => {
  ca.issueCrl(
    job.entries.map((e) => ({ serial: e.serial, revokedAt: new Date(e.revokedAt), reason: e.reason })),
    { crlNumber: BigInt(job.crlNumber), validityMs: job.validityMs },
  ).then(
    (pem) => parentPort!.postMessage({ id: job.id, ok: true, pem } satisfies CrlReply),
    (err: unknown) => parentPort!.postMessage({ id: job.id, ok: false, message: (err as Error).message } satisfies CrlReply),
  );
});
