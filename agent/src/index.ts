export const placeholder = 'agent';
