import type { AccessPolicy } from './access.js';
import type { ClientIdentity } from './identity.js';
import type { RefusalReason } from './refusal.js';
import type { TokenBucket } from './token-bucket.js';

/** Minimal view of an aedes client the broker keeps per session. */
export interface SessionClient {
  readonly id: string;
  /** The connection aedes writes this client's packets to (a `GuardedConnection`). */
  readonly conn: { write(chunk: Buffer): boolean };
  /** Granted subscriptions by topic filter (aedes keeps them per client). */
  readonly subscriptions: Readonly<Record<string, unknown>>;
  close(callback?: () => void): void;
}

/**
 * One TLS connection as the broker sees it: established from the certificate
 * at handshake time and never changed by anything the client sends.
 */
export interface Session {
  /** Set when the certificate was accepted; absent for a refused connection. */
  readonly identity: ClientIdentity | undefined;
  /** Set when the certificate was refused: CONNECT is answered "not authorized". */
  readonly refusal: RefusalReason | undefined;
  readonly access: AccessPolicy | undefined;
  readonly publishBucket: TokenBucket | undefined;
  /** Log fields naming the peer: IP, certificate subject and SHA-256 fingerprint. */
  readonly peer: { readonly ip: string; readonly subject?: string; readonly fingerprint?: string };
  /** The will message from CONNECT, checked in `authenticate`. */
  will: { topic: string; retain: boolean } | undefined;
  /** The aedes client once CONNACK accepted it. */
  client: SessionClient | undefined;
  /** Set once the broker decided to close this session, so it is logged once. */
  closing: RefusalReason | undefined;
}
