export const placeholder = 'packages/protocol';
