// MakeCredential (verifier side of credential activation).
export {};
