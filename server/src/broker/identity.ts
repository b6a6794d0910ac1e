import type { KeyObject } from 'node:crypto';

/** A fleet member: its certificate chains to the fleet CA, is unexpired and not revoked. */
export interface DeviceIdentity {
  readonly kind: 'device';
  /** From the certificate's `urn:vigil:device:<id>` SAN URI. */
  readonly deviceId: string;
  /** Canonical serial of the certificate it connected with. */
  readonly serial: string;
}

/**
 * A not-yet-enrolled client that presented a validly self-signed certificate.
 * It proved possession of `publicKey` in the TLS handshake; the registrar
 * issues the device certificate for exactly this key.
 */
export interface BootstrapIdentity {
  readonly kind: 'bootstrap';
  /** Lowercase hex SHA-256 of the SubjectPublicKeyInfo DER. */
  readonly bootstrapId: string;
  readonly publicKey: KeyObject;
}

/** Who a connected MQTT client is, established from its TLS certificate alone. */
export type ClientIdentity = DeviceIdentity | BootstrapIdentity;

/** Names a client for `disconnect`/`isConnected` without needing its certificate details. */
export type IdentityRef = { readonly kind: 'device'; readonly deviceId: string } | { readonly kind: 'bootstrap'; readonly bootstrapId: string };

/** The MQTT client id a client must use: its device id or bootstrap id. */
export function clientIdOf(identity: IdentityRef): string {
  return identity.kind === 'device' ? identity.deviceId : identity.bootstrapId;
}
