/**
 * A lean MQTT 3.1.1 client for load generation (README in bench/src/fleet):
 * what a simulated device needs, without mqtt.js's per-packet streams.
 */
export { LeanMqttConnection, leanSecureContext, DEFAULT_MAX_PACKET_BYTES, type LeanCredentials, type LeanMqttOptions } from './connection.js';
export { FrameParser, type FrameSink } from './frame-parser.js';
export { LeanMqttError, type LeanMqttErrorCode } from './errors.js';
export * as packets from './packets.js';
export type { QoS } from './packets.js';
