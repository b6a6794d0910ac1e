// Verifier-side checks: Names, public keys, signatures, PCR digests, quotes.
export {};
