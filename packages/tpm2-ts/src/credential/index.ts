// MakeCredential (verifier side of credential activation) and tpm2-tools' credential file.
export { makeCredential, CredentialError, type Credential, type MakeCredentialInput } from './make-credential.js';
export { encodeTpm2ToolsCredential, decodeTpm2ToolsCredential } from './tpm2-tools-file.js';
