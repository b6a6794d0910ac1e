/**
 * The mqtt.js link: the client library the agent uses
 * (`agent/src/daemon/server-connection.ts`), with the same options:
 * MQTT 3.1.1, client id = device id, clean session, QoS 1, mqtt.js's own
 * reconnect (every `reconnectMs`) and resubscription. Tests drive devices
 * through it and reach the `MqttClient` itself (`SimDevice.client`).
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { QoS } from '../lean-mqtt/index.js';
import type { SimLink, SimLinkEvents, SimLinkOptions } from './link.js';

export class MqttJsLink implements SimLink {
  readonly kind = 'mqttjs';
  client: MqttClient | undefined;

  constructor(
    private readonly options: SimLinkOptions,
    private readonly events: SimLinkEvents,
  ) {}

  get connected(): boolean {
    return this.client?.connected === true;
  }

  async open(): Promise<void> {
    const o = this.options;
    const client = connect({
      protocol: 'mqtts',
      host: o.host,
      servername: 'localhost',
      port: o.port,
      protocolVersion: 4,
      clientId: o.clientId,
      ca: o.caPem,
      cert: o.certPem,
      key: o.keyPem,
      rejectUnauthorized: true,
      reconnectPeriod: o.reconnectMs,
      connectTimeout: 30_000,
      keepalive: o.keepaliveSeconds,
      clean: true,
      resubscribe: true,
    } as IClientOptions);
    this.client = client;
    client.on('message', (topic: string, payload: Buffer) => this.events.onMessage(topic, payload));
    client.on('close', () => this.events.onClose());
    let connects = 0;
    client.on('connect', () => {
      if (connects++ > 0) this.events.onReconnect();
    });
    client.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      const onClose = (): void => {
        // A refused or timed-out first attempt ends here: no background reconnects behind the caller's back.
        // Only the first attempt: once connected, a later close is the reconnect logic's business.
        client.off('connect', onConnect);
        client.end(true);
        reject(new Error(`${o.clientId}: connection closed before CONNACK`));
      };
      const onConnect = (): void => {
        client.off('close', onClose);
        resolve();
      };
      client.once('connect', onConnect);
      client.once('close', onClose);
    });
    for (const group of o.subscriptions) await client.subscribeAsync([...group], { qos: 1 });
  }

  async publish(topic: string, payload: Uint8Array | string, qos: QoS): Promise<void> {
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    await this.client!.publishAsync(topic, bytes, { qos });
  }

  send(topic: string, payload: Uint8Array | string, qos: QoS, onFailed?: (error: Error) => void): void {
    this.publish(topic, payload, qos).catch((err: unknown) => onFailed?.(err as Error));
  }

  close(): void {
    this.client?.end(true);
  }

  async end(): Promise<void> {
    await this.client?.endAsync(false).catch(() => undefined);
  }
}
