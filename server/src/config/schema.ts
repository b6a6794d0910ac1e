import Type, { type Static, type TSchema } from 'typebox';
import { LOG_LEVELS } from '../log.js';
import { AdminConfig } from './admin.js';
import { AttestationConfig } from './attestation.js';
import { BrokerConfig } from './broker.js';
import { EnrollmentConfig } from './enrollment.js';
import { StoreConfig } from './store.js';
import { WebhookConfig } from './webhook.js';

const MiB = 1024 * 1024;

/**
 * The server configuration: one TypeBox definition gives the TypeScript type,
 * the validator, the defaults, the commented `config.yaml` that `init` writes
 * (each `description` becomes the comment above its key) and the `VIGIL_*`
 * environment variable names (see `env.ts`).
 */
const Listen = Type.Object(
  {
    host: Type.String({ minLength: 1, maxLength: 255, default: '::', description: 'Address the MQTT-over-TLS listener binds to ("::" = every interface, IPv4 too on dual-stack hosts).' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8883, description: 'TCP port of the MQTT-over-TLS listener (8883 is secure MQTT; 0 picks a free port).' }),
  },
  { additionalProperties: false, default: {}, description: 'Where the broker listens. There is no plaintext listener.' },
);

const Tls = Type.Object(
  {
    minVersion: Type.Union([Type.Literal('TLSv1.3'), Type.Literal('TLSv1.2')], {
      default: 'TLSv1.3',
      description: 'Oldest TLS version accepted: TLSv1.3, or TLSv1.2 for devices whose TLS stack lacks 1.3.',
    }),
  },
  { additionalProperties: false, default: {}, description: 'Mutual TLS: every client must present a certificate.' },
);

const Pki = Type.Object(
  {
    caCommonName: Type.String({ minLength: 1, maxLength: 64, default: 'Vigil Fleet CA', description: 'Subject CN of the fleet CA (used by init).' }),
    caValidityDays: Type.Integer({ minimum: 1, maximum: 36500, default: 3650, description: 'Lifetime of the fleet CA certificate in days (used by init).' }),
    caKeyBits: Type.Union([Type.Literal(2048), Type.Literal(3072), Type.Literal(4096)], { default: 3072, description: 'RSA key size of the fleet CA (used by init).' }),
    serverSans: Type.Array(Type.String({ minLength: 1, maxLength: 253 }), {
      minItems: 1,
      maxItems: 64,
      default: ['localhost', '127.0.0.1', '::1'],
      description: 'Host names and IP addresses devices use to reach the broker: the SANs of its TLS certificate.',
    }),
    serverCertificateValidityDays: Type.Integer({ minimum: 1, maximum: 3650, default: 397, description: 'Lifetime of the broker TLS certificate in days; start reissues it when it has under 30 days left.' }),
    deviceCertificateValidityHours: Type.Integer({ minimum: 1, maximum: 9600, default: 24, description: 'Lifetime of device certificates in hours; renewed only after a passing attestation.' }),
    crlValidityDays: Type.Integer({ minimum: 1, maximum: 365, default: 7, description: 'CRL nextUpdate distance in days; the CRL is reissued on every revocation and at start when stale.' }),
  },
  { additionalProperties: false, default: {}, description: 'Fleet PKI.' },
);

const Limits = Type.Object(
  {
    maxPacketBytes: Type.Integer({ minimum: 1024, maximum: 256 * MiB, default: 9 * MiB, description: 'Largest MQTT packet a device may send (evidence with event logs must fit: messages are up to 8 MiB).' }),
    maxBootstrapPacketBytes: Type.Integer({ minimum: 1024, maximum: 16 * MiB, default: 256 * 1024, description: 'Largest MQTT packet a not-yet-enrolled (bootstrap) client may send.' }),
    maxConnectPacketBytes: Type.Integer({ minimum: 256, maximum: MiB, default: 64 * 1024, description: 'Largest CONNECT packet, and any packet from a client whose certificate was refused.' }),
    publishRatePerSecond: Type.Number({ minimum: 0.001, maximum: 1_000_000, default: 20, description: 'Steady PUBLISH+SUBSCRIBE rate per client; a client above it is disconnected.' }),
    publishBurst: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 100, description: 'PUBLISH+SUBSCRIBE burst per client (token bucket size).' }),
    bootstrapConnectionsPerMinute: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 60, description: 'New bootstrap or refused connections per IP address per minute.' }),
    handshakeTimeoutMs: Type.Integer({ minimum: 100, maximum: 300_000, default: 10_000, description: 'Time allowed for the TLS handshake.' }),
    connectTimeoutMs: Type.Integer({ minimum: 100, maximum: 300_000, default: 10_000, description: 'Time allowed between the handshake and the MQTT CONNECT.' }),
  },
  { additionalProperties: false, default: {}, description: 'Per-client and per-IP limits; exceeding one disconnects that client only.' },
);

const Log = Type.Object(
  {
    level: Type.Union(
      LOG_LEVELS.map((l) => Type.Literal(l)),
      { default: 'info', description: `Log level: ${LOG_LEVELS.join(', ')}. Logs are JSON lines on stderr.` },
    ),
  },
  { additionalProperties: false, default: {}, description: 'Logging.' },
);

export const ServerConfigSchema = Type.Object({ listen: Listen, tls: Tls, pki: Pki, limits: Limits, broker: BrokerConfig, enrollment: EnrollmentConfig, store: StoreConfig, admin: AdminConfig, attestation: AttestationConfig, webhook: WebhookConfig, log: Log }, { additionalProperties: false });

export type ServerConfig = Static<typeof ServerConfigSchema>;

/** The schema as plain JSON Schema, for the generic walkers (env names, comments, error messages). */
export interface SchemaNode {
  readonly type?: string;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly anyOf?: readonly SchemaNode[];
  readonly items?: SchemaNode;
  readonly const?: unknown;
  readonly description?: string;
}

export function schemaNode(schema: TSchema): SchemaNode {
  return schema as unknown as SchemaNode;
}
