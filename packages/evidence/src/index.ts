export const placeholder = 'packages/evidence';
