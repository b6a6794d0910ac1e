/**
 * Test helpers around the real broker: start it on a free port with a test
 * fleet CA, capture its log lines (to assert on refusal reasons), and connect
 * real mqtt.js clients over mutual TLS.
 */
import { createPrivateKey } from 'node:crypto';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { createLogger, hours, startBroker, type Broker, type BrokerLimits, type FleetCa, type Logger, type RevocationList } from '@vigil/server';
import { sharedKeyPem, type ClientCredentials } from './pki.js';

export type LogLine = Record<string, unknown> & { msg?: string; reason?: string; level?: number };

/** A pino destination that keeps every line and lets tests wait for one. */
export class LogCapture {
  readonly lines: LogLine[] = [];
  readonly #waiters: Array<{ match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }> = [];
  readonly logger: Logger;

  constructor(level: 'debug' | 'info' = 'info') {
    this.logger = createLogger({ level, destination: { write: (s: string) => this.#write(s) } });
  }

  /** Resolves with the first line (already logged or future) that matches. */
  waitFor(match: (l: LogLine) => boolean): Promise<LogLine> {
    const found = this.lines.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => this.#waiters.push({ match, resolve }));
  }

  /** Lines whose `reason` field is `reason`. */
  withReason(reason: string): LogLine[] {
    return this.lines.filter((l) => l.reason === reason);
  }

  #write(s: string): void {
    for (const text of s.split('\n')) {
      if (text.trim() === '') continue;
      const line = JSON.parse(text) as LogLine;
      this.lines.push(line);
      for (let i = this.#waiters.length - 1; i >= 0; i--) {
        const w = this.#waiters[i]!;
        if (w.match(line)) {
          this.#waiters.splice(i, 1);
          w.resolve(line);
        }
      }
    }
  }
}

export interface TestBroker {
  readonly broker: Broker;
  readonly logs: LogCapture;
  readonly ca: FleetCa;
  readonly port: number;
}

/** Starts the broker on 127.0.0.1, port 0, with a server certificate for localhost issued by `ca`. */
export async function startTestBroker(
  ca: FleetCa,
  options: { limits?: Partial<BrokerLimits>; tlsMinVersion?: 'TLSv1.2' | 'TLSv1.3'; revocations?: RevocationList } = {},
): Promise<TestBroker> {
  const serverKeyPem = sharedKeyPem();
  const server = ca.issueServerCertificate({ publicKey: createPrivateKey(serverKeyPem), sans: ['localhost', '127.0.0.1'], validityMs: hours(1) });
  const logs = new LogCapture();
  const broker = await startBroker({
    host: '127.0.0.1',
    port: 0,
    caCertificatePem: ca.certificatePem,
    serverCertificatePem: server.pem,
    serverKeyPem,
    logger: logs.logger,
    ...(options.tlsMinVersion ? { tlsMinVersion: options.tlsMinVersion } : {}),
    ...(options.revocations ? { revocations: options.revocations } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  return { broker, logs, ca, port: broker.port };
}

export type ConnectOutcome =
  | { readonly kind: 'connected'; readonly client: MqttClient }
  /** CONNACK with a non-zero return code (MQTT 3.1.1 §3.2.2.3). */
  | { readonly kind: 'refused'; readonly code: number | undefined; readonly message: string }
  /** The connection ended before any CONNACK (handshake failure or server close). */
  | { readonly kind: 'closed'; readonly message: string };

/**
 * Connects an MQTT 3.1.1 client over mutual TLS and reports how the attempt
 * ended. The client never reconnects on its own.
 */
export function connectClient(
  port: number,
  caPem: string,
  credentials: ClientCredentials | undefined,
  options: { clientId: string; will?: IClientOptions['will']; maxVersion?: 'TLSv1.2' | 'TLSv1.3' },
): Promise<ConnectOutcome> {
  const client = connect({
    protocol: 'mqtts',
    host: 'localhost',
    port,
    protocolVersion: 4,
    clientId: options.clientId,
    ca: caPem,
    ...(credentials ? { cert: credentials.certPem, key: credentials.keyPem } : {}),
    rejectUnauthorized: true,
    reconnectPeriod: 0,
    connectTimeout: 30_000,
    ...(options.will ? { will: options.will } : {}),
    ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
  } as IClientOptions);
  return new Promise((resolve) => {
    let lastError = '';
    client.once('connect', () => resolve({ kind: 'connected', client }));
    client.on('error', (err: Error & { code?: number | string }) => {
      lastError = err.message;
      if (typeof err.code === 'number') {
        client.end(true);
        resolve({ kind: 'refused', code: err.code, message: err.message });
      }
    });
    client.once('close', () => {
      client.end(true);
      resolve({ kind: 'closed', message: lastError });
    });
  });
}

/** Connects and fails the test unless the broker accepted the client. */
export async function connectOk(port: number, caPem: string, credentials: ClientCredentials, clientId: string): Promise<MqttClient> {
  const outcome = await connectClient(port, caPem, credentials, { clientId });
  if (outcome.kind !== 'connected') throw new Error(`expected the broker to accept ${clientId}, got ${outcome.kind}: ${JSON.stringify(outcome)}`);
  return outcome.client;
}

/** Resolves with the next message on `topic` delivered to `client`. */
export function nextMessage(client: MqttClient, topic: string): Promise<Buffer> {
  return new Promise((resolve) => {
    const onMessage = (t: string, payload: Buffer) => {
      if (t !== topic) return;
      client.off('message', onMessage);
      resolve(payload);
    };
    client.on('message', onMessage);
  });
}

/** Resolves when the client's connection has closed. */
export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!client.connected && client.disconnected) return resolve();
    client.once('close', () => resolve());
  });
}

/** The first granted QoS for a subscription; 128 is the MQTT 3.1.1 failure code. */
export async function subscribeResult(client: MqttClient, topic: string): Promise<number> {
  try {
    const granted = await client.subscribeAsync(topic, { qos: 1 });
    return granted[0]?.qos ?? -1;
  } catch (err) {
    // mqtt.js rejects when SUBACK carries a failure code (0x80), attaching the SUBACK.
    const granted = (err as { packet?: { granted?: unknown[] } }).packet?.granted;
    if (Array.isArray(granted) && typeof granted[0] === 'number') return granted[0];
    const code = (err as { code?: number }).code;
    if (typeof code === 'number') return code;
    throw err;
  }
}
