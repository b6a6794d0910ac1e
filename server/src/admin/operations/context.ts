import type { ServerContext } from '../../app/context.js';
import type { ServerConfig } from '../../config/index.js';
import type { DataDir } from '../../datadir.js';
import type { FleetCa } from '../../pki/index.js';
import type { Actor, Store } from '../../store/index.js';

/**
 * What an operation handler is given. The same handler runs in two places:
 * inside the running server behind the admin API (then `server` is the
 * server's context: its broker, services and metrics), or in the CLI
 * process directly on the database when no server runs (then `server` is
 * undefined). Handlers reach durable state only through `store`.
 */
export interface OperationContext {
  readonly store: Store;
  readonly paths: DataDir;
  /**
   * Who is acting, for the audit log: `admin:<name>` through the API (the
   * name from the client certificate), `cli:<user>` when the CLI works on
   * the database directly.
   */
  readonly actor: Actor;
  /** The running server's context, when the operation runs inside it. */
  readonly server: ServerContext | undefined;
  /** The fleet CA: the server's own online; loaded from the data directory offline (needs read access to its key). */
  fleetCa(): Promise<FleetCa>;
  /** The server configuration: the running one online; `DIR/config.yaml` + environment offline. */
  config(): Promise<ServerConfig>;
}

/** The context of an operation declared `offline: false`: it only ever runs inside the server. */
export interface OnlineOperationContext extends OperationContext {
  readonly server: ServerContext;
}
