import Type from 'typebox';

/**
 * The `broker:` section. `embedded` (the default): the server runs its own
 * mutual-TLS MQTT broker on `listen` and devices connect to it. `external`:
 * devices connect to an existing broker (the reference is Mosquitto 2 with
 * the dynamic-security plugin, see deploy/mosquitto/ and
 * docs/deployment.md); the server connects to it as an MQTT 5 client with
 * its own fleet-CA certificate and consumes evidence and challenge requests
 * through shared subscriptions, so any number of replicas split the load.
 * In external mode `listen` is only the enrollment listener for bootstrap
 * clients (a self-signed certificate cannot pass the external broker).
 */
export const BrokerConfig = Type.Object(
  {
    mode: Type.Union([Type.Literal('embedded'), Type.Literal('external')], {
      default: 'embedded',
      description: 'embedded: run the MQTT broker in this process; external: attest devices through an existing broker (listen is then the enrollment listener only).',
    }),
    url: Type.String({
      maxLength: 300,
      pattern: '^(mqtts://[^/\\s:@]+(:[0-9]{1,5})?/?)?$',
      default: '',
      description: 'External mode: the broker as mqtts://HOST:PORT (8883 if omitted); mutual TLS only. The broker certificate must name HOST.',
    }),
    caFile: Type.String({
      maxLength: 4096,
      default: '',
      description: 'External mode: PEM CA bundle the broker certificate must chain to (relative to the data directory); empty: the fleet CA.',
    }),
    replicaName: Type.String({
      maxLength: 63,
      pattern: '^([a-z0-9][a-z0-9._-]{0,62})?$',
      default: '',
      description: 'External mode: this replica\'s name, unique among replicas; its client certificate names it vigil:verifier:NAME (the broker username). Empty: the host name.',
    }),
    shareGroup: Type.String({
      minLength: 1,
      maxLength: 64,
      pattern: '^[A-Za-z0-9_-]+$',
      default: 'vigil',
      description: 'External mode: MQTT 5 shared-subscription group ($share/GROUP/...); replicas in one group split evidence and challenge requests.',
    }),
    dynamicSecurity: Type.Boolean({
      default: true,
      description:
        "External mode: manage each device's broker access through Mosquitto's dynamic-security plugin ($CONTROL/dynamic-security/v1): a client and role per device at enrollment, disabled at revocation. false: access is managed outside Vigil (revocation then cannot cut a device off at the broker).",
    }),
    crlReloadCommand: Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), {
      maxItems: 64,
      default: [],
      description:
        'External mode: a command (program and arguments, no shell) run whenever the CRL file changed, so that the broker reloads it (Mosquitto reads crlfile only at start and on SIGHUP), e.g. ["systemctl", "reload", "mosquitto"]. VIGIL_CRL_FILE names the CRL in its environment.',
    }),
    heartbeatSeconds: Type.Number({
      minimum: 0.2,
      maximum: 300,
      default: 5,
      description: 'External mode: how often a replica announces itself to the others; a replica silent for 3 heartbeats (or whose will message arrives) is taken as gone and its devices\' challenge schedule moves to the others.',
    }),
  },
  { additionalProperties: false, default: {}, description: 'Which MQTT broker devices use: the embedded one, or an existing broker cluster (external).' },
);
