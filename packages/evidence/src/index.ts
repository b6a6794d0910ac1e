/**
 * @vigil/evidence: what a device's logs say, read exactly.
 * - TCG PC Client event logs (SHA1 and crypto-agile): parse, replay, decode,
 *   data verification, secure boot state, serialization.
 * - Linux IMA measurement lists (ASCII and binary): parse and replay.
 * - AI model measurement: fast file hashing, manifest digest, the model
 *   measurement log and its replay.
 * See README.md for the API and examples.
 */

// Event log
export { EventLogParseError } from './eventlog/errors.js';
export { EventType, eventTypeName } from './eventlog/event-types.js';
export type { EventTypeName } from './eventlog/event-types.js';
export type {
  DataVerification,
  EventDigest,
  EventEncoding,
  EventLog,
  EventLogFormat,
  RawEvent,
  SpecIdEvent,
  TcgEvent,
} from './eventlog/event.js';
export type { EventData, GptPartition, HandoffTable, LoadOption, UefiVariable, UefiVariableValue } from './eventlog/decode/event-data.js';
export type { DevicePath, DevicePathNode } from './eventlog/decode/device-path.js';
export type { CertificateInfo, SignatureEntry, SignatureList } from './eventlog/decode/signature-list.js';
export { parseEventLog, readEventLog } from './eventlog/parser.js';
export type { EventLogParseOptions } from './eventlog/parser.js';
export { EventLogReplayer, replayEventLog, replayEvents, replayToJson } from './eventlog/replay.js';
export type { EventLogReplay, EventLogReplayJson } from './eventlog/replay.js';
export { serializeEventLog, specIdEventData } from './eventlog/serialize.js';
export type { EventInput } from './eventlog/serialize.js';
export { digestRule } from './eventlog/verification.js';
export type { DigestRule } from './eventlog/verification.js';
export { extractSecureBootState } from './eventlog/secure-boot.js';
export type { Authority, SecureBootState, SignatureDatabase } from './eventlog/secure-boot.js';

// IMA
export { ImaParseError } from './ima/errors.js';
export type { ImaEntry, ImaLogFormat, ImaTemplate } from './ima/entry.js';
export { parseImaLog, readImaLog } from './ima/read.js';
export type { ImaReadOptions } from './ima/read.js';
export { ImaReplayer, imaPcrsToJson, replayImaEntries, replayImaLog } from './ima/replay.js';
export type { ImaReplay, ImaReplayOptions } from './ima/replay.js';
export { formatImaAsciiLine } from './ima/ascii.js';
export { serializeImaBinary } from './ima/binary.js';

// Models
export { ModelHashError } from './models/errors.js';
export type { ModelHashErrorCode } from './models/errors.js';
export { hashModel } from './models/hash-model.js';
export type { HashModelOptions, HashProgress, ModelDigest, ModelFileDigest } from './models/hash-model.js';
export { manifestDigest, modelManifest } from './models/manifest.js';
export type { ManifestEntry } from './models/manifest.js';
export {
  DEFAULT_MODEL_PCR,
  formatModelLog,
  isAcceptableModelPcr,
  modelMeasurement,
  modelMeasurements,
  replayModelLog,
} from './models/measurement-log.js';
export type { ModelLogReplay, ModelMeasurement } from './models/measurement-log.js';

// Shared
export type { ByteSource } from './sources/byte-source.js';
export type { PcrValuesJson } from './crypto/pcr-banks.js';
