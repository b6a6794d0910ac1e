/**
 * The one error type of the lean MQTT client: what went wrong, by name, so a
 * load generator can count it and a test can assert on it.
 */
export type LeanMqttErrorCode =
  /** A fixed header that MQTT 3.1.1 §2.2 does not allow (reserved type, a remaining length over four bytes). */
  | 'malformed'
  /** A remaining length over the connection's bound: closed before anything is allocated for it. */
  | 'too-large'
  /** A well-framed packet the client cannot accept here (wrong flags, wrong size, unexpected type, QoS 2). */
  | 'protocol'
  /** The broker said no: a CONNACK return code other than 0, or a SUBACK failure (0x80). */
  | 'refused'
  /** The connection closed before the operation completed (includes TLS handshake failures). */
  | 'closed'
  /** No CONNACK within the connect timeout, or no answer to a PINGREQ within a keep-alive period. */
  | 'timeout'
  /** The caller asked for something MQTT cannot carry (an over-long topic, a packet id space exhausted). */
  | 'argument';

export class LeanMqttError extends Error {
  override readonly name = 'LeanMqttError';

  constructor(
    readonly code: LeanMqttErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
