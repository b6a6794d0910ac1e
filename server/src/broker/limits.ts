/** Resource limits the broker enforces per connection and per IP address. */
export interface BrokerLimits {
  /** Largest MQTT packet (header included) a device may send. Evidence with event logs fits in the default. */
  readonly maxPacketBytes: number;
  /** Largest packet from a bootstrap client (enrollment messages are a few KiB). */
  readonly maxBootstrapPacketBytes: number;
  /** Largest CONNECT packet, and every packet from a client whose certificate was refused. */
  readonly maxConnectPacketBytes: number;
  /** Steady PUBLISH + SUBSCRIBE rate per client (token bucket refill). */
  readonly publishRatePerSecond: number;
  /** Burst of PUBLISH + SUBSCRIBE per client (token bucket capacity). */
  readonly publishBurst: number;
  /** New bootstrap or refused connections per IP address per minute (also the burst). */
  readonly bootstrapConnectionsPerMinute: number;
  /** TLS handshake must complete within this time. */
  readonly handshakeTimeoutMs: number;
  /** CONNECT must arrive within this time after the handshake. */
  readonly connectTimeoutMs: number;
}

export const DEFAULT_BROKER_LIMITS: BrokerLimits = {
  maxPacketBytes: 9 * 1024 * 1024, // protocol messages are at most 8 MiB, plus topic and header
  maxBootstrapPacketBytes: 256 * 1024,
  maxConnectPacketBytes: 64 * 1024,
  publishRatePerSecond: 20,
  publishBurst: 100,
  bootstrapConnectionsPerMinute: 60,
  handshakeTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
};
