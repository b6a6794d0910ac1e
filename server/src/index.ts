export const placeholder = 'server';
export * from './pki/index.js';
