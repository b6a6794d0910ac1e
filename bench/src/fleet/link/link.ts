/**
 * A simulated device's wire: one MQTT 3.1.1 session over mutual TLS to the
 * broker, subscribed to the device's topics, reconnecting after a drop if
 * asked to. Two implementations, one simulator: `mqttjs` (the library the
 * agent uses; tests that reach for `SimDevice.client` need it) and `lean`
 * (`lean-mqtt/`: the load generator's, which shares two cores with the
 * server under test).
 */
import type { QoS } from '../lean-mqtt/index.js';

export type SimLinkKind = 'mqttjs' | 'lean';

export interface SimLinkOptions {
  readonly host: string;
  readonly port: number;
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
  /** MQTT client id: the device id. */
  readonly clientId: string;
  readonly keepaliveSeconds: number;
  /** After a drop, reconnect (first try after about this long, ms); 0 = never. */
  readonly reconnectMs: number;
  /**
   * Topic filters, one SUBSCRIBE (QoS 1) per group, in this order, on
   * every connection: the server challenges a device as soon as it
   * subscribes to its challenges, so that group comes last.
   */
  readonly subscriptions: ReadonlyArray<readonly string[]>;
}

export interface SimLinkEvents {
  /** Every PUBLISH received on the device's subscriptions. */
  onMessage(topic: string, payload: Buffer): void;
  /** Every connection the link opened that closed, failed attempts included (as mqtt.js's `close` counts them). */
  onClose(): void;
  /** Connected again after a drop (not after the first `open`). */
  onReconnect(): void;
}

export interface SimLink {
  readonly kind: SimLinkKind;
  /** The session is up: CONNACK received and the connection not closed since. */
  readonly connected: boolean;
  /** Connects and subscribes; rejects if the first attempt fails (no retries behind the caller's back). */
  open(): Promise<void>;
  /** QoS 1: resolves on PUBACK; rejects when the connection is down or drops before it. */
  publish(topic: string, payload: Uint8Array | string, qos: QoS): Promise<void>;
  /** `publish` without a promise (the hot path of a load generator): `onFailed` is called instead of a rejection, possibly before `send` returns. */
  send(topic: string, payload: Uint8Array | string, qos: QoS, onFailed?: (error: Error) => void): void;
  /** Closes at once, no reconnect. */
  close(): void;
  /** Sends DISCONNECT, closes, waits for it; no reconnect. */
  end(): Promise<void>;
}
