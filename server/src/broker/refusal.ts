/**
 * Every reason the broker refuses a connection or closes a session. Each is
 * logged (with the client's address and certificate subject/fingerprint) under
 * `reason`, so operators and tests can tell them apart.
 */
export type RefusalReason =
  /** The client sent no certificate. */
  | 'no-certificate'
  /** Neither issued by the fleet CA nor validly self-signed (e.g. another CA, even with the same subject). */
  | 'untrusted-issuer'
  | 'certificate-expired'
  | 'certificate-not-yet-valid'
  /** Serial or device id is on the revocation list. */
  | 'revoked'
  /** Issued by the fleet CA but without a device SAN URI or without clientAuth (e.g. the broker's own certificate). */
  | 'no-device-identity'
  /** The MQTT client id differs from the certificate's identity. */
  | 'client-id-mismatch'
  /** The CONNECT carried a will message the identity may not publish. */
  | 'will-denied'
  /** PUBLISH to a topic outside the identity's own. */
  | 'publish-denied'
  /** SUBSCRIBE to a filter outside the identity's own (answered with SUBACK 0x80). */
  | 'subscribe-denied'
  /** PUBLISH with the retain flag: clients may not leave messages for others. */
  | 'retain-denied'
  /** An MQTT packet larger than the limit for this kind of client. */
  | 'packet-too-large'
  /** A malformed MQTT fixed header (remaining length over 4 bytes). */
  | 'malformed-packet'
  /** More PUBLISH/SUBSCRIBE than the per-client token bucket allows. */
  | 'rate-exceeded'
  /** Too many bootstrap or unauthenticated connections from one IP address. */
  | 'connection-rate-exceeded'
  /** The device was revoked while connected. */
  | 'revoked-live'
  /** An operator or the server asked to disconnect the client. */
  | 'disconnected-by-server';
