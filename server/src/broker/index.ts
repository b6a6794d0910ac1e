export { startBroker, type Broker, type BrokerOptions, type InboundMessage, type MessageHandler, type SubscribeHandler } from './broker.js';
export { DEFAULT_BROKER_LIMITS, type BrokerLimits } from './limits.js';
export { MemoryRevocationList, type RevocationList } from './revocation-list.js';
export { clientIdOf, type ClientIdentity, type DeviceIdentity, type BootstrapIdentity, type IdentityRef } from './identity.js';
export type { RefusalReason } from './refusal.js';
