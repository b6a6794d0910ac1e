// Public API of @vigil/tpm2-ts. Structures and commands are exported by their
// spec names (TPMS_ATTEST, Quote); TypeScript types by their PascalCase names.
export * from './codec/codec.js';
export * from './codec/combinators.js';
export { Reader } from './codec/reader.js';
export { Writer } from './codec/writer.js';
export * from './constants/alg.js';
export * from './constants/cc.js';
export * from './constants/handles.js';
export * from './constants/rc.js';
export * from './constants/st.js';
export * from './structures/basic.js';
export * from './structures/attributes.js';
export * from './structures/schemes.js';
export * from './structures/public.js';
export * from './structures/signature.js';
export * from './structures/attest.js';
export * from './structures/misc.js';
export * from './command.js';
export * from './errors.js';
export type { Session, AuthCommandContext, AuthResponseContext } from './session.js';
export type { Transport } from './transport.js';
export { Tpm, type TpmOptions, type RetryPolicy, type CommandRunner, DEFAULT_RETRY, resolveNameFromTpm } from './tpm.js';

// Commands (Part 3), one file per chapter.
export * from './commands/startup.js';
export * from './commands/testing.js';
export * from './commands/session.js';
export * from './commands/object.js';
export * from './commands/hash.js';
export * from './commands/random.js';
export * from './commands/attestation.js';
export * from './commands/integrity.js';
export * from './commands/policy.js';
export * from './commands/hierarchy.js';
export * from './commands/context.js';
export * from './commands/clock.js';
export * from './commands/capability.js';
export * from './commands/nv.js';

// Sessions and policies.
export { passwordSession } from './sessions/password.js';
export { AuthSession, type AuthSessionType, type AuthSessionState } from './sessions/auth-session.js';
export { startAuthSession, flush, type StartAuthSessionOptions } from './sessions/start.js';
export { policySecret, policyPcr, policyAuthValue, policyCommandCode, policyGetDigest, policyRestart } from './sessions/policy.js';
export { PolicyDigest, pcrValuesDigest } from './policy/digest.js';

// Multi-command operations.
export { getProperties, getProperty, getHandles, getPcrAllocation, getPcrBanks, getTpmIdentity, type PcrBank, type TpmIdentity } from './operations/capabilities.js';
export { readNv, writeNv, nvReadPublic, nvBufferMax, type NvAccess } from './operations/nv.js';
export * from './pcrs/selection.js';
export { readPcrs, PcrNotAllocatedError, type PcrReadResult } from './pcrs/read.js';
export { encodeTpm2ToolsPcrFile, decodeTpm2ToolsPcrFile, PcrFileError } from './pcrs/tpm2-tools-file.js';

// Templates and keys.
export * from './templates/ek.js';
export * from './templates/ak.js';
export { createEk, readEkCertificate, ekPolicySession, type Ek } from './keys/ek.js';
export { createAk, createKey, loadKey, loadAk, withAuthorization, encodePublicBlob, encodePrivateBlob, decodePublicBlob, decodePrivateBlob, type KeyBlobs } from './keys/ak.js';
export { activateCredential } from './keys/credential.js';
export { flushKey, keyHandle, type LoadedKey } from './keys/loaded-key.js';

// Transports.
export { SwtpmTransport, type SwtpmTransportOptions } from './transports/swtpm.js';
export { SwtpmControl, SwtpmControlError, SWTPM_CMD, SWTPM_CAP, SWTPM_INFO, PTM_INIT_FLAG_DELETE_VOLATILE } from './transports/swtpm-control.js';
export { MssimTransport, MSSIM, type MssimTransportOptions } from './transports/mssim.js';
export { DeviceTransport, type DeviceTransportOptions } from './transports/device.js';
export { openTpm, parseTpmUri, transportFor, TpmUriError, type TpmLocation, type OpenTpmOptions } from './transports/uri.js';
export type { SocketAddress } from './transports/stream.js';

// Crypto helpers shared by both sides.
export { kdfa, kdfe } from './crypto/kdf.js';
export { generateKeyPair, type KeyPairSpec } from './crypto/key-pair.js';
export { publicKeyFromTpmt, TpmPublicKeyError } from './crypto/public-key.js';
export { objectName, nvIndexName } from './crypto/name.js';
export * from './verify/index.js';
export * from './credential/index.js';
