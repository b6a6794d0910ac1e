/**
 * Beyond one machine: devices attest through an existing MQTT broker
 * cluster (Mosquitto 2 with its dynamic-security plugin is the reference),
 * any number of verifier replicas share the load through MQTT 5 shared
 * subscriptions. See README.md.
 */
export { startBrokerIntake, startServerBroker, stopBrokerIntake, type ServerBrokerInputs } from './start.js';
export { ExternalBroker, type ExternalBrokerOptions } from './external-broker.js';
export { ReplicaMembership, REPLICA_FILTER, REPLICA_TOPIC_PREFIX } from './membership.js';
export { issueVerifierCredentials, loadOrIssueVerifierCredentials, verifierCredentialPaths, type VerifierCredentials } from './verifier-credentials.js';
export { verifierUsername, VERIFIER_USERNAME_PREFIX } from './verifier-identity.js';
export { DEVICE_ROLE_PREFIX, DEVICES_ROLE, VERIFIER_ROLE, deviceAcls, VERIFIER_ACLS, DEVICES_ACLS } from './dynsec/roles.js';
export { DynsecClient, DynsecError } from './dynsec/client.js';
export { DeviceAccess } from './dynsec/device-access.js';
export { CrlReloader } from './crl-reload.js';
