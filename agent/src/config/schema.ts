import Type, { type Static, type TSchema } from 'typebox';
import { ENROLLMENT_TOKEN_PATTERN } from '@vigil/protocol';
import { DEFAULT_MODEL_PCR } from '@vigil/evidence';
import { LOG_LEVELS } from '../log.js';

/**
 * The agent configuration, described once: this TypeBox definition gives the
 * `AgentConfig` type, the validator, the defaults, the `VIGIL_AGENT_*`
 * environment variable and the `--flag` of every key (see `leaves.ts`), the
 * help text of `vigil-agent run` and the comments of the example
 * `agent/packaging/agent.yaml` (see `render.ts`; a test checks the file
 * against this schema).
 *
 * A key's flag is its path in kebab case (`watch.debounceMs` →
 * `--watch-debounce-ms`) unless the schema names one (`flag`); its
 * environment variable is `VIGIL_AGENT_` and the path in upper snake case
 * (`VIGIL_AGENT_WATCH_DEBOUNCE_MS`). Lists come from a repeated flag or a
 * comma-separated variable.
 */

/** Schema options read by the config walkers besides JSON Schema's own. */
export interface ConfigAnnotations {
  /** Flag name without dashes, when it is not the kebab-case path (`model` for `models`). */
  readonly flag?: string;
  /** Placeholder shown in `--help` (`<uri>`). */
  readonly placeholder?: string;
  /** The value is a secret: never echoed in errors or logs. */
  readonly secret?: boolean;
  /** Shown in the example file instead of the default (for keys without one). */
  readonly example?: unknown;
  /** A file system path (or a list of them): relative ones are resolved against the config file's folder or the working directory. */
  readonly pathLike?: boolean;
}

function path(description: string, extra: ConfigAnnotations & { default?: string } = {}) {
  return Type.String({ minLength: 1, maxLength: 4096, pattern: '^[^\\0]*$', placeholder: '<file>', pathLike: true, description, ...extra });
}

const Watch = Type.Object(
  {
    debounceMs: Type.Integer({
      minimum: 0,
      maximum: 10_000,
      default: 100,
      placeholder: '<ms>',
      description: 'Quiet time after the last change event of a burst before the changed files are re-measured (a copy in progress produces many events).',
    }),
    maxDelayMs: Type.Integer({
      minimum: 0,
      maximum: 60_000,
      default: 500,
      placeholder: '<ms>',
      description: 'Longest a change waits for its burst to end: a file written continuously is still re-measured this often.',
    }),
    sweepSeconds: Type.Integer({
      minimum: 1,
      maximum: 86_400,
      default: 30,
      placeholder: '<s>',
      description: 'Interval of the fallback sweep that stats every model file (inode, size, mtime, ctime) to catch changes the file system did not report.',
    }),
    hashConcurrency: Type.Integer({
      minimum: 1,
      maximum: 64,
      default: 2,
      placeholder: '<n>',
      description: 'Model files hashed at the same time (worker threads): bounds the CPU and I/O the agent takes from the model server.',
    }),
    followSymlinks: Type.Boolean({
      default: false,
      description: 'Follow symbolic links under the model paths. Off: a link is refused, since it lets what is measured change without the measured tree changing.',
    }),
  },
  { additionalProperties: false, default: {}, description: 'Model file watching and re-measurement.' },
);

const Reconnect = Type.Object(
  {
    initialDelayMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 1000, placeholder: '<ms>', description: 'First reconnect delay after the connection to the server drops.' }),
    maxDelayMs: Type.Integer({
      minimum: 1000,
      maximum: 3_600_000,
      default: 300_000,
      placeholder: '<ms>',
      description: 'Longest reconnect delay: delays double from the initial one up to this, each with random jitter so a fleet does not reconnect in step.',
    }),
    connectTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 600, default: 30, placeholder: '<s>', description: 'Time allowed for TCP, TLS and the MQTT CONNACK of one attempt.' }),
    keepaliveSeconds: Type.Integer({ minimum: 5, maximum: 3600, default: 60, placeholder: '<s>', description: 'MQTT keep-alive: a silent connection is probed (and dropped if dead) after this long.' }),
  },
  { additionalProperties: false, default: {}, description: 'Connection to the server.' },
);

const TpmRetry = Type.Object(
  {
    pollSeconds: Type.Integer({
      minimum: 1,
      maximum: 3600,
      default: 10,
      placeholder: '<s>',
      description: "How often the TPM's clock is read to notice a reset (reboot, simulator restart) or an unreachable TPM between challenges.",
    }),
    maxRetryDelayMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 60_000, placeholder: '<ms>', description: 'Longest delay between attempts to reach an unreachable TPM.' }),
  },
  { additionalProperties: false, default: {}, description: 'TPM health.' },
);

const Log = Type.Object(
  {
    level: Type.Enum(LOG_LEVELS, {
      default: 'info',
      placeholder: '<level>',
      description: `Log level: ${LOG_LEVELS.join(', ')}. Logs are JSON lines on stderr (the journal under systemd).`,
    }),
  },
  { additionalProperties: false, default: {}, description: 'Logging.' },
);

export const AgentConfigSchema = Type.Object(
  {
    server: Type.String({
      pattern: '^mqtts://[^/\\s:@]+(:[0-9]{1,5})?/?$',
      maxLength: 300,
      placeholder: '<url>',
      example: 'mqtts://vigil.example.net:8883',
      description: 'The Vigil server as mqtts://HOST:PORT (port 8883 if omitted). Mutual TLS only: plaintext mqtt:// is refused.',
    }),
    ca: path('Fleet CA certificate (PEM) that the server certificate must chain to.', { example: '/etc/vigil/ca.pem' }),
    tpm: Type.String({
      minLength: 1,
      maxLength: 4096,
      default: 'device:/dev/tpmrm0',
      placeholder: '<uri>',
      description: 'The TPM: device:/dev/tpmrm0 (the kernel resource manager; the agent user must be in the tss group), swtpm:path=SOCKET, swtpm:host=H,port=N or mssim:host=H,port=N.',
    }),
    state: path('State directory (0700): device key (0600), certificates, AK blobs, model measurement log, status file.', { default: '/var/lib/vigil-agent', placeholder: '<dir>' }),
    token: Type.Optional(
      Type.String({
        pattern: ENROLLMENT_TOKEN_PATTERN,
        secret: true,
        placeholder: '<token>',
        description: 'Enrollment token (vgl_...), needed only while the state directory holds no device certificate. Prefer VIGIL_AGENT_TOKEN or a root-only config file.',
      }),
    ),
    akKind: Type.Union([Type.Literal('rsa'), Type.Literal('ecc')], { default: 'rsa', placeholder: '<kind>', description: 'Attestation key type created at enrollment: rsa (RSASSA-SHA256) or ecc (ECDSA P-256).' }),
    models: Type.Array(path('A model file or folder.'), {
      maxItems: 256,
      default: [],
      flag: 'model',
      placeholder: '<path>',
      pathLike: true,
      example: ['/opt/models/detector.onnx', '/opt/models/llm'],
      description: 'Model files and folders to measure into the model PCR at start and to watch for changes (repeat --model for several).',
    }),
    modelPcr: Type.Integer({
      minimum: 0,
      maximum: 15,
      default: DEFAULT_MODEL_PCR,
      placeholder: '<n>',
      description: 'PCR the model measurements are extended into: 0-15 only (16 and 23 are resettable by software, 17-22 belong to DRTM); 13 is used by no boot component.',
    }),
    eventlog: path('TCG boot event log sent with the evidence; absent is reported, not fatal.', { default: '/sys/kernel/security/tpm0/binary_bios_measurements' }),
    imaLog: path('Linux IMA measurement list sent with the evidence when present.', { default: '/sys/kernel/security/ima/binary_runtime_measurements' }),
    revokedHook: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        placeholder: '<command>',
        example: 'systemctl stop model-server.service',
        description: 'Shell command run once when this device is revoked (e.g. stop the model server), with VIGIL_DEVICE_ID and VIGIL_REVOCATION_REASON set.',
      }),
    ),
    revokedHookTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 3600, default: 60, placeholder: '<s>', description: 'The revoked hook is killed after this long.' }),
    enrollTimeoutSeconds: Type.Integer({
      minimum: 1,
      maximum: 3600,
      default: 60,
      placeholder: '<s>',
      description: 'Time allowed for one enrollment attempt, every wait in it included (TPM, connection, the server\'s answers); then it is retried after the reconnect backoff.',
    }),
    tlsMinVersion: Type.Union([Type.Literal('TLSv1.3'), Type.Literal('TLSv1.2')], {
      default: 'TLSv1.3',
      placeholder: '<version>',
      description: 'Oldest TLS version offered to the server: TLSv1.3, or TLSv1.2 if the server is configured for it.',
    }),
    watch: Watch,
    reconnect: Reconnect,
    tpmHealth: TpmRetry,
    log: Log,
  },
  { additionalProperties: false },
);

export type AgentConfig = Static<typeof AgentConfigSchema>;

/** The schema as plain JSON Schema with Vigil's annotations, for the generic walkers. */
export interface SchemaNode extends ConfigAnnotations {
  readonly type?: string;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly required?: readonly string[];
  readonly anyOf?: readonly SchemaNode[];
  readonly items?: SchemaNode;
  readonly const?: unknown;
  readonly enum?: readonly unknown[];
  readonly default?: unknown;
  readonly description?: string;
}

export function schemaNode(schema: TSchema): SchemaNode {
  return schema as unknown as SchemaNode;
}
