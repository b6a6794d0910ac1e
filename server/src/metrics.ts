import type { EarStatus, RevocationReason } from '@vigil/protocol/core';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The server's Prometheus metrics: one prom-client Registry per running
 * server (tests run several in one process), served at `/metrics` on the
 * admin port. Components get it as `ctx.metrics` and count through the
 * typed handles below, never through prom-client directly, so a label can
 * only take the values its type allows (bounded cardinality).
 */
export interface ServerMetrics {
  readonly registry: Registry;
  /** Appraised evidence by overall EAR status (`vigil_verdicts_total{status}`). */
  readonly verdicts: LabelledCounter<EarStatus>;
  /** Evidence received → verdict stored and published, in seconds (`vigil_verification_duration_seconds`). */
  readonly pipelineLatency: LatencyHistogram;
  /** Devices revoked, by reason (`vigil_revocations_total{reason}`). */
  readonly revocations: LabelledCounter<RevocationReason>;
  /**
   * Enrollment attempts by outcome (`vigil_enrollments_total{outcome}`):
   * `enrolled`, or the named rejection reason the registrar publishes
   * (`token-unknown`, `ek-certificate-untrusted`, ...). A fixed set: never
   * put free text or ids in it.
   */
  readonly enrollments: LabelledCounter<string>;
  /** Challenges sent to devices and challenges that expired unanswered (`vigil_challenges_total{event}`). */
  readonly challenges: LabelledCounter<ChallengeEvent>;
}

export type ChallengeEvent = 'sent' | 'expired';

/** A counter with one label. */
export interface LabelledCounter<L extends string> {
  inc(label: L, by?: number): void;
}

export interface LatencyHistogram {
  observe(seconds: number): void;
  /** Starts a timer; calling the result observes the seconds since. */
  startTimer(): () => void;
}

/** Live numbers read at scrape time. */
export interface MetricSources {
  /** Clients past CONNACK, by kind. */
  connectedClients(): { readonly devices: number; readonly bootstrap: number };
}

/**
 * Sub-millisecond (a cached replay) to one second (a large event log on a
 * busy host); the verifier's target is well under 1 ms per verdict.
 */
export const PIPELINE_LATENCY_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export function createServerMetrics(sources: MetricSources): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  new Gauge({
    name: 'vigil_connected_devices',
    help: 'Enrolled devices connected to the broker now',
    registers: [registry],
    collect() {
      this.set(sources.connectedClients().devices);
    },
  });
  new Gauge({
    name: 'vigil_connected_bootstrap_clients',
    help: 'Not-yet-enrolled (bootstrap) clients connected to the broker now',
    registers: [registry],
    collect() {
      this.set(sources.connectedClients().bootstrap);
    },
  });

  const latency = new Histogram({
    name: 'vigil_verification_duration_seconds',
    help: 'Time from evidence received to verdict stored and published',
    buckets: [...PIPELINE_LATENCY_BUCKETS],
    registers: [registry],
  });
  // Zero-valued series exist from the start, so rate() and alerts work before the first event.
  const counter = <L extends string>(name: string, help: string, label: string, initial: readonly L[]): LabelledCounter<L> => {
    // Counted in a plain map and handed to prom-client at scrape time: its own `inc` hashes the
    // label object on every call, and two counts a verdict made that ~2 µs of the event loop.
    const counts = new Map<L, number>(initial.map((v) => [v, 0]));
    new Counter({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        this.reset();
        for (const [value, n] of counts) this.inc({ [label]: value }, n);
      },
    });
    return {
      inc: (value, by = 1) => {
        if (!Number.isFinite(by) || by < 0) throw new RangeError(`${name}: cannot add ${by}`);
        counts.set(value, (counts.get(value) ?? 0) + by);
      },
    };
  };

  return {
    registry,
    verdicts: counter<EarStatus>('vigil_verdicts_total', 'Appraised evidence by overall EAR status', 'status', ['none', 'affirming', 'warning', 'contraindicated']),
    pipelineLatency: { observe: (s) => latency.observe(s), startTimer: () => latency.startTimer() },
    revocations: counter<RevocationReason>('vigil_revocations_total', 'Devices revoked, by reason', 'reason', ['contraindicated', 'stale', 'admin']),
    enrollments: counter<string>('vigil_enrollments_total', 'Enrollment attempts by outcome', 'outcome', []),
    challenges: counter<ChallengeEvent>('vigil_challenges_total', 'Attestation challenges sent and expired unanswered', 'event', ['sent', 'expired']),
  };
}
