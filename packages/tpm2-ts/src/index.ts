export const placeholder = 'packages/tpm2-ts';
