// Verifier-side checks, pure software: public keys, attestation parsing,
// signatures, PCR values and files, and quotes end to end.
export { parsePublicKey, type ParsedPublicKey, type PublicKeyFormat } from './public-key-file.js';
export { verificationKey, type VerificationKey, type AkPublic } from './verification-key.js';
export { verifyTpmSignature, verifyTpmSignatureAsync, type SignatureCheck, type SignatureFailureReason } from './signature.js';
export { parseAttest, parseQuoteAttest, isQuote, TpmAttestError, type AttestFailureReason } from './attest.js';
export { pcrValuesFromJson, pcrValuesToJson, selectionOfValues, sameSelection, type PcrValuesJson } from './pcr-values.js';
export { readPcrFile, type PcrFileFormat } from './pcr-file.js';
export { checkQuote, type CheckQuoteInput, type QuoteCheck, type QuoteAccepted, type QuoteRejected, type QuoteFailureReason } from './quote.js';
