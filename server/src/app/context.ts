import type { Broker, MemoryRevocationList } from '../broker/index.js';
import type { ServerConfig } from '../config/index.js';
import type { DataDir } from '../datadir.js';
import type { Logger } from '../log.js';
import type { ServerMetrics } from '../metrics.js';
import type { FleetCa } from '../pki/index.js';
import type { Store } from '../store/index.js';
import type { ServiceDirectory } from './services.js';

/**
 * What every server component is given: the running server's configuration,
 * data directory, logger, fleet CA, store and broker. Components talk to
 * devices only through `broker` and keep durable state only in `store`.
 * A component that offers something to others (the verifier's "attest
 * now", ...) provides it in `services` when it starts.
 */
export interface ServerContext {
  readonly paths: DataDir;
  readonly config: ServerConfig;
  readonly log: Logger;
  readonly ca: FleetCa;
  readonly store: Store;
  readonly broker: Broker;
  /** The broker's revocation list (serials and device ids refused at connect). */
  readonly revocations: MemoryRevocationList;
  /** Prometheus metrics: count through its typed handles (see metrics.ts). */
  readonly metrics: ServerMetrics;
  /** Services components offer each other and the admin API (see services.ts). */
  readonly services: ServiceDirectory;
}

/** A started component of the server (registrar, verifier, admin API, ...). */
export interface Component {
  readonly name: string;
  /** Fields added to the "vigil-server ready" log line, e.g. `{ adminPort: 8443 }` (a port chosen at start). */
  readonly ready?: Readonly<Record<string, unknown>>;
  /** Stops taking new work and finishes or abandons what is in flight; called in reverse start order. */
  close(): Promise<void>;
}

/** Starts a component. Throwing aborts server start-up (already started components are closed). */
export type ComponentFactory = (ctx: ServerContext) => Promise<Component>;
