import type { ComponentFactory } from '../app/context.js';
import type { Broker, MemoryRevocationList } from '../broker/index.js';
import { days, hours } from '../pki/index.js';
import { CrlPublisher } from '../revocation/crl-publisher.js';
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
  const crl = new CrlPublisher({ store: ctx.store, ca: ctx.ca, path: ctx.paths.crl, validityMs: days(ctx.config.pki.crlValidityDays), log });
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
    onSuperseded: (deviceId, serials) => revokeSuperseded(ctx.broker, ctx.revocations, crl, deviceId, serials),
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
 * uses one (the device reconnects with its new certificate; the result
 * carrying it is published after this), and reissue the CRL from the
 * store's revoked certificates, as the revocation service does.
 */
async function revokeSuperseded(broker: Broker, revocations: MemoryRevocationList, crl: CrlPublisher, deviceId: string, serials: readonly string[]): Promise<void> {
  revocations.revoke(undefined, serials);
  broker.disconnect({ kind: 'device', deviceId });
  await crl.reissue();
}
