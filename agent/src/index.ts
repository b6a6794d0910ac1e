export const placeholder = 'agent';
export * from './identity/index.js';
