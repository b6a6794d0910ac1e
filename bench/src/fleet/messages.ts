/**
 * What the fleet controller and its load-generator processes say to each
 * other over the IPC channel (`child_process.fork`, advanced serialization:
 * typed arrays cross without JSON).
 */
import type { SimIdentityRecord } from './identity.js';
import type { SimLinkKind } from './link/link.js';
import type { ModelFile } from './model-set.js';

export interface WorkerInit {
  readonly type: 'init';
  readonly host: string;
  readonly port: number;
  readonly caPem: string;
  readonly devices: readonly SimIdentityRecord[];
  /** Binary event log file replayed into every device's PCRs; null: none. */
  readonly bootLogPath: string | null;
  readonly models: readonly ModelFile[] | null;
  readonly keepaliveSeconds: number;
  readonly reconnectMs: number;
  readonly link: SimLinkKind;
  /** Nice value for every thread of the worker (`niceness.ts`). */
  readonly nice: number;
}

export type ControlMessage =
  | WorkerInit
  /** Connect every device, `perSecond` per second with each slot jittered by ±`jitter` of its width. */
  | { readonly type: 'connect'; readonly perSecond: number; readonly jitter: number }
  /** Open loop: ask for challenges at this rate over this worker's devices (0: stop asking). */
  | { readonly type: 'rate'; readonly perSecond: number }
  /** Closed loop: each device asks for its next challenge as soon as its verdict arrives. */
  | { readonly type: 'loop'; readonly on: boolean }
  /** Count, from now on, what happens to challenges whose `expiresAt` (epoch ms) is in [from, to): the ledger of a run. */
  | { readonly type: 'ledger'; readonly from: number; readonly to: number }
  /** Report the counters and the latencies since the last report. */
  | { readonly type: 'stats'; readonly id: number }
  | { readonly type: 'stop' };

/**
 * What the devices did with the challenges of one issue window (those whose
 * `expiresAt` falls in it), so it can be set against what the server's
 * store says it issued, consumed and recorded for the same window.
 */
export interface LedgerCounts {
  /** Distinct challenges received. */
  readonly received: number;
  /** Evidence sent for them. */
  readonly answered: number;
  /** Evidence that could not be sent: its connection had closed (QoS 0, so nothing is acknowledged). */
  readonly evidenceFailed: number;
  /** Results received for that evidence, by outcome (`affirming`, `error:<code>`). */
  readonly results: Readonly<Record<string, number>>;
}

/** Counters of one worker since it started; latencies since the last report. */
export interface WorkerStats {
  readonly connected: number;
  readonly connectFailures: number;
  /** Connection attempts that failed and were retried (the server refused or timed out the handshake under the ramp). */
  readonly connectRetries: number;
  readonly disconnects: number;
  readonly challenges: number;
  readonly evidenceSent: number;
  readonly answered: number;
  /** Evidence with no result yet. */
  readonly unanswered: number;
  readonly requestsSkipped: number;
  readonly bootLogsSent: number;
  readonly outcomes: Readonly<Record<string, number>>;
  /** Evidence → result, ms, one per result since the last report. */
  readonly latencies: Float64Array;
  /** This process's CPU time (user + system), ms, and RSS, bytes. */
  readonly cpuMs: number;
  readonly rssBytes: number;
  /** The longest this process's event loop was held since the last report, ms (10 ms resolution). */
  readonly loopStallMaxMs: number;
  readonly ledger: LedgerCounts;
}

export type WorkerMessage =
  /** Initialised; `nice` is the worker's nice value as it now stands. */
  | { readonly type: 'ready'; readonly nice: number }
  | { readonly type: 'connected'; readonly connected: number; readonly failed: number; readonly firstError?: string }
  | { readonly type: 'stats'; readonly id: number; readonly stats: WorkerStats }
  | { readonly type: 'stopped' }
  | { readonly type: 'error'; readonly message: string };
