import type { ComponentFactory, ServerContext } from '../app/context.js';
import { days, hours, readCrlFile, reissueCrlFile } from '../pki/index.js';
import { EkTrustStore } from './ek-trust.js';
import { Registrar } from './registrar.js';

/**
 * The registrar as a server component: reads the manufacturer CA bundle
 * (`enrollment.manufacturerCaFiles`; an unreadable file stops start-up with
 * exit code 2), takes enrollment messages from the broker and counts
 * outcomes in `vigil_enrollments_total{outcome}`.
 */
export const registrarComponent: ComponentFactory = async (ctx) => {
  const { enrollment, pki } = ctx.config;
  const trust = await EkTrustStore.fromFiles(enrollment.manufacturerCaFiles, ctx.paths.root);
  const log = ctx.log.child({ component: 'registrar' });
  if (trust.rootCount === 0 && !enrollment.allowEkWithoutCertificate) {
    log.warn('no TPM manufacturer root CA is configured (enrollment.manufacturerCaFiles): every enrollment will be refused');
  }
  const registrar = new Registrar({
    store: ctx.store,
    ca: ctx.ca,
    trust,
    settings: {
      allowEkWithoutCertificate: enrollment.allowEkWithoutCertificate,
      sessionTtlMs: enrollment.sessionTtlSeconds * 1000,
      certificateValidityMs: hours(pki.deviceCertificateValidityHours),
    },
    publish: (topic, payload) => ctx.broker.publish(topic, payload, { qos: 1 }),
    log: ctx.log,
    onOutcome: (outcome) => ctx.metrics.enrollments.inc(outcome),
    onSuperseded: (deviceId, serials) => revokeSuperseded(ctx, deviceId, serials),
  });
  const unsubscribe = ctx.broker.onMessage((message) => registrar.handle(message));
  log.info({ manufacturerCas: trust.size, roots: trust.rootCount, allowEkWithoutCertificate: enrollment.allowEkWithoutCertificate }, 'registrar ready');
  return {
    name: 'registrar',
    async close() {
      unsubscribe();
      await registrar.close();
    },
  };
};

/**
 * An allowed re-enrollment revoked the device's earlier certificates in the
 * store: refuse them at the broker from now on, end a session that still
 * uses one (the device reconnects with its new certificate), and list them
 * in the CRL (reason superseded, RFC 5280 §5.3.1).
 */
async function revokeSuperseded(ctx: ServerContext, deviceId: string, serials: readonly string[]): Promise<void> {
  ctx.revocations.revoke(undefined, serials);
  ctx.broker.disconnect({ kind: 'device', deviceId });
  const current = await readCrlFile(ctx.paths.crl, ctx.ca);
  const revokedAt = new Date();
  await reissueCrlFile(
    ctx.paths.crl,
    ctx.ca,
    [...(current?.entries ?? []), ...serials.map((serial) => ({ serial, revokedAt, reason: 'superseded' as const }))],
    { validityMs: days(ctx.config.pki.crlValidityDays) },
  );
}
