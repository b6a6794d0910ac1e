import type { ComponentFactory } from '../app/context.js';
import { serviceKey } from '../app/services.js';
import { PolicyCache } from '../policy/policy-cache.js';
import { hours } from '../pki/index.js';
import { Revocations } from '../revocation/service.js';
import { CertificateRenewal } from './renewal.js';
import { AttestationRetention } from './retention/attestation-retention.js';
import { StalenessMonitor } from './staleness/monitor.js';
import { Verifier } from './verifier.js';

/** HKDF purpose of the challenge seal key (`FleetCa.deriveKey`); a new purpose is a new key. */
const CHALLENGE_KEY_PURPOSE = 'challenge-seal/v1';

/** The running verifier in the server's service directory (attest now, policy reload). */
export const VerifierService = serviceKey<{ readonly verifier: Verifier; readonly policies: PolicyCache }>('verifier');

/**
 * The verifier component: the policy cache, the challenge scheduler and the
 * pipeline on the broker's evidence, publishing verdicts and revoking
 * through `Revocations` (so the revocation component must start first).
 */
export const verifierComponent: ComponentFactory = async (ctx) => {
  const revocations = ctx.services.get(Revocations);
  if (revocations === undefined) throw new Error('the verifier needs the revocation service: start the revocation component first');
  const a = ctx.config.attestation;
  const log = ctx.log.child({ component: 'verifier' });
  const policies = new PolicyCache(ctx.store, log);
  await policies.start();
  const verifier = new Verifier(
    {
      store: ctx.store,
      broker: ctx.broker,
      policies,
      revoker: revocations,
      renewal: new CertificateRenewal({ store: ctx.store, ca: ctx.ca, validityMs: hours(ctx.config.pki.deviceCertificateValidityHours), log, now: Date.now }),
      metrics: ctx.metrics,
      log: ctx.log,
      challengeKey: ctx.ca.deriveKey(CHALLENGE_KEY_PURPOSE),
    },
    {
      intervalMs: a.intervalSeconds * 1000,
      jitter: a.jitterPercent / 100,
      challengeTtlMs: a.challengeTtlSeconds * 1000,
      maxQueuedPerDevice: a.maxQueuedPerDevice,
      concurrency: a.concurrency,
      groupCommitMs: ctx.config.store.groupCommitMs,
    },
  );
  const unlisten = revocations.onChange({ revoked: (id) => verifier.forgetDevice(id), reinstated: (id) => verifier.scheduleDevice(id) });
  await verifier.start();
  ctx.services.provide(VerifierService, { verifier, policies });
  log.info({ intervalSeconds: a.intervalSeconds, jitterPercent: a.jitterPercent, challengeTtlSeconds: a.challengeTtlSeconds, devices: verifier.scheduler.size }, 'verifier started');
  return {
    name: 'verifier',
    async close() {
      ctx.services.withdraw(VerifierService);
      unlisten();
      policies.stop();
      await verifier.close();
    },
  };
};

/** The staleness monitor component (after the revocation service). */
export const stalenessComponent: ComponentFactory = async (ctx) => {
  const revocations = ctx.services.get(Revocations);
  if (revocations === undefined) throw new Error('the staleness monitor needs the revocation service: start the revocation component first');
  const a = ctx.config.attestation;
  const monitor = new StalenessMonitor(
    { store: ctx.store, revoker: revocations, log: ctx.log.child({ component: 'staleness' }) },
    { intervalMs: a.intervalSeconds * 1000, staleAfterIntervals: a.staleAfterIntervals, graceMs: a.staleGraceSeconds * 1000 },
  );
  const unlisten = revocations.onChange({ reinstated: (id) => monitor.reinstated(id) });
  monitor.start();
  return {
    name: 'staleness',
    async close() {
      unlisten();
      await monitor.close();
    },
  };
};

/** Attestation history retention (`store.attestationRetentionDays`): an hourly prune. */
export const retentionComponent: ComponentFactory = async (ctx) => {
  const days = ctx.config.store.attestationRetentionDays;
  const retention = new AttestationRetention({ store: ctx.store, log: ctx.log.child({ component: 'retention' }) }, { keepMs: days * 86_400_000 });
  retention.start();
  return {
    name: 'retention',
    ready: { attestationRetentionDays: days === 0 ? 'for ever' : days },
    async close() {
      await retention.close();
    },
  };
};
