/**
 * What the floor's controller and its two child processes — the server and
 * the devices — say to each other over the IPC channel
 * (`child_process.fork`, advanced serialization: typed arrays cross as they
 * are). Between processes of one benchmark run, so trusted.
 */
import type { ProcessCpu } from '../process-cpu.js';
import type { WireSizes } from './wire-sizes.js';
import type { VariantTraits } from './variant.js';

export interface ServerInit {
  readonly type: 'init';
  readonly traits: VariantTraits;
  readonly sizes: WireSizes;
  /** Each device's AK public key (SPKI DER), by device id. */
  readonly aks: ReadonlyArray<{ readonly deviceId: string; readonly spki: Uint8Array }>;
  /** The server's certificate and key and the CA its clients' certificates must chain to (TLS variants). */
  readonly tls?: { readonly caPem: string; readonly certPem: string; readonly keyPem: string };
}

export type ServerControl = ServerInit | { readonly type: 'stats'; readonly id: number } | { readonly type: 'stop' };

/** What the server did since it started, and what it cost. */
export interface ServerStats {
  readonly connections: number;
  /** Results sent, by verdict name (`affirming`, `nonceMismatch`, ...). */
  readonly verdicts: Readonly<Record<string, number>>;
  /** Connections closed for bad frames or an identity it could not place, by reason. */
  readonly refusals: Readonly<Record<string, number>>;
  readonly cpu: ProcessCpu;
  /** `mqtt-json-sqlite`: rows in the verdict log, and the transactions that wrote them. */
  readonly stored?: { readonly uses: number; readonly attestations: number };
  readonly commits?: number;
}

export type ServerReport =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'stats'; readonly id: number; readonly stats: ServerStats }
  | { readonly type: 'error'; readonly message: string };

export interface DeviceRecord {
  readonly deviceId: string;
  /** The AK's private key, PKCS#8 DER. */
  readonly akPkcs8: Uint8Array;
  /** The device's certificate from the fleet CA (TLS variants). */
  readonly certPem?: string;
}

export interface DeviceInit {
  readonly type: 'init';
  readonly traits: VariantTraits;
  readonly sizes: WireSizes;
  readonly host: string;
  readonly port: number;
  readonly devices: readonly DeviceRecord[];
  /** The CA the server's certificate must chain to and the TLS key every device certificate certifies (TLS variants). */
  readonly tls?: { readonly caPem: string; readonly keyPem: string };
}

export type DeviceControl =
  | DeviceInit
  /** Connect every device, `perSecond` a second. */
  | { readonly type: 'connect'; readonly perSecond: number }
  /** Closed loop on or off: each device asks again as soon as its result arrives. */
  | { readonly type: 'loop'; readonly on: boolean }
  | { readonly type: 'stats'; readonly id: number }
  | { readonly type: 'stop' };

/** What the devices saw since they started; latencies since the previous report. */
export interface DeviceStats {
  readonly connected: number;
  readonly disconnects: number;
  /** Results received. */
  readonly verdicts: number;
  readonly outcomes: Readonly<Record<string, number>>;
  /** Evidence written → result read, ms (as the verify benchmark measures), one per result since the last report. */
  readonly latencies: Float64Array;
  /** Request written → result read, ms: the whole round. */
  readonly roundLatencies: Float64Array;
  /** Connections that closed with an error, by reason. */
  readonly errors: Readonly<Record<string, number>>;
  readonly cpu: ProcessCpu;
}

export type DeviceReport =
  | { readonly type: 'ready' }
  | { readonly type: 'connected'; readonly connected: number; readonly failed: number; readonly firstError?: string }
  | { readonly type: 'stats'; readonly id: number; readonly stats: DeviceStats }
  | { readonly type: 'error'; readonly message: string };
