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
export { Tpm, type TpmOptions, type RetryPolicy, DEFAULT_RETRY } from './tpm.js';
export { passwordSession } from './sessions/password.js';
export * from './commands/startup.js';
export * from './commands/random.js';
export * from './commands/attestation.js';
export { SwtpmTransport, type SocketAddress } from './transports/swtpm.js';
