import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import { EnrollmentError } from './errors.js';
import type { ServerAddress } from './server-url.js';

/** The bootstrap client's TLS credentials. */
export interface BootstrapCredentials {
  readonly clientId: string;
  readonly certificatePem: string;
  readonly keyPem: string;
}

interface Waiter {
  readonly topics: ReadonlySet<string>;
  readonly resolve: (message: { topic: string; payload: Buffer }) => void;
  readonly reject: (err: EnrollmentError) => void;
}

/**
 * The agent's MQTT connection during enrollment: mutual TLS 1.3 with the
 * self-signed bootstrap certificate, the server verified against the fleet
 * CA, MQTT 3.1.1 (the broker's version), clean session, no reconnection
 * (enrollment is one conversation; a retry is a new enrollment). Messages
 * are queued from the moment of subscription, so an answer that arrives
 * before the agent asks for it is not lost.
 */
export class EnrollmentChannel {
  readonly #client: MqttClient;
  readonly #inbox: Array<{ topic: string; payload: Buffer }> = [];
  #waiter: Waiter | undefined;
  #failure: EnrollmentError | undefined;

  readonly #onClose = () => this.#fail(new EnrollmentError('network', 'the server closed the connection'));
  readonly #onError = (err: Error) => this.#fail(new EnrollmentError('network', `connection error: ${err.message}`, undefined, { cause: err }));

  private constructor(client: MqttClient) {
    this.#client = client;
    client.on('message', (topic, payload) => {
      const w = this.#waiter;
      if (w !== undefined && w.topics.has(topic)) {
        this.#waiter = undefined;
        w.resolve({ topic, payload });
      } else if (this.#inbox.length < 16) {
        this.#inbox.push({ topic, payload });
      }
    });
    client.on('close', this.#onClose);
    client.on('error', this.#onError);
  }

  /** Connects and resolves once the broker accepted the client (CONNACK 0). */
  static open(server: ServerAddress, caPem: string, credentials: BootstrapCredentials, timeoutMs: number, log: Logger): Promise<EnrollmentChannel> {
    // mqtt.js hands these options to tls.connect, so TLS options beyond its own type apply.
    const options: IClientOptions & Pick<ConnectionOptions, 'minVersion'> = {
      protocol: 'mqtts',
      host: server.host,
      port: server.port,
      protocolVersion: 4,
      clientId: credentials.clientId,
      clean: true,
      reconnectPeriod: 0,
      // No 65,536-entry packet-id Buffer cache (~6 MB kept for the life of the process, which is the agent daemon's).
      writeCache: false,
      connectTimeout: timeoutMs,
      ca: caPem,
      cert: credentials.certificatePem,
      key: credentials.keyPem,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.3',
    };
    const client = connect(options);
    return new Promise((resolve, reject) => {
      const detach = () => {
        client.off('connect', onConnect);
        client.off('error', onError);
        client.off('close', onClose);
      };
      const fail = (message: string, cause?: unknown) => {
        detach();
        client.on('error', () => undefined);
        client.end(true);
        reject(new EnrollmentError('network', message, undefined, { cause }));
      };
      const onConnect = () => {
        detach();
        log.debug({ host: server.host, port: server.port }, 'connected to the broker as a bootstrap client');
        resolve(new EnrollmentChannel(client));
      };
      const onError = (err: Error & { code?: string | number }) => {
        if (typeof err.code === 'number') fail(`the broker refused the connection (CONNACK ${err.code}: ${err.message})`, err);
        else fail(`cannot connect to mqtts://${server.host}:${server.port}: ${err.message}`, err);
      };
      const onClose = () => fail(`cannot connect to mqtts://${server.host}:${server.port}: the connection closed before the broker accepted it`);
      client.on('connect', onConnect);
      client.on('error', onError);
      client.on('close', onClose);
    });
  }

  /** Subscribes at QoS 1; a refused subscription (SUBACK 0x80) is a network failure. */
  async subscribe(topics: readonly string[]): Promise<void> {
    this.#throwIfFailed();
    let granted: { qos: number }[];
    try {
      granted = await this.#client.subscribeAsync([...topics], { qos: 1 });
    } catch (err) {
      throw new EnrollmentError('network', `the broker refused the subscription to ${topics.join(', ')}: ${(err as Error).message}`, undefined, { cause: err });
    }
    if (granted.some((g) => g.qos === 128)) throw new EnrollmentError('network', `the broker refused the subscription to ${topics.join(', ')}`);
  }

  /**
   * Publishes at QoS 1 and waits for the broker's PUBACK, until `deadline`
   * (ms since the epoch) at the latest: on a stalled link the connection
   * stays open and the PUBACK never comes, and mqtt.js would wait for it for
   * ever (a QoS 1 message is kept for a resend that a closed enrollment
   * channel never makes).
   */
  async publish(topic: string, payload: Uint8Array, deadline?: number): Promise<void> {
    this.#throwIfFailed();
    const sent = this.#client.publishAsync(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos: 1 }).catch((err: unknown) => {
      throw new EnrollmentError('network', `cannot publish to ${topic}: ${(err as Error).message}`, undefined, { cause: err });
    });
    if (deadline === undefined) {
      await sent;
      return;
    }
    // If the deadline wins, a later failure of the publish is of no interest (and must not go unhandled).
    sent.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new EnrollmentError('timeout', `no acknowledgement of ${topic} from the server in time`)), Math.max(0, deadline - Date.now()));
    });
    try {
      await Promise.race([sent, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The next message on one of `topics`, or a `timeout` failure at `deadline` (ms since the epoch). */
  next(topics: readonly string[], deadline: number, waitingFor: string): Promise<{ topic: string; payload: Buffer }> {
    const wanted = new Set(topics);
    const queued = this.#inbox.findIndex((m) => wanted.has(m.topic));
    if (queued >= 0) return Promise.resolve(this.#inbox.splice(queued, 1)[0]!);
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new EnrollmentError('timeout', `timed out waiting for the ${waitingFor} from the server`));
      }, Math.max(0, deadline - Date.now()));
      this.#waiter = {
        topics: wanted,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }

  async close(): Promise<void> {
    this.#client.off('close', this.#onClose);
    this.#client.off('error', this.#onError);
    this.#client.on('error', () => undefined);
    await this.#client.endAsync(true).catch(() => undefined);
  }

  #fail(err: EnrollmentError): void {
    this.#failure ??= err;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.reject(this.#failure);
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure;
  }
}
