// generateKeyPair (src/crypto/key-pair.ts): the keys it returns are a matching,
// working pair, and exporting them (what could deadlock with keys straight from
// generateKeyPairSync in Node 20) gives the same key in every form.
import { createPublicKey, sign, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateKeyPair, type KeyPairSpec } from '../src/crypto/key-pair.js';

const specs: KeyPairSpec[] = [
  { type: 'rsa', modulusLength: 2048 },
  { type: 'ec', namedCurve: 'P-256' },
  { type: 'ec', namedCurve: 'P-384' },
];

describe('generateKeyPair', () => {
  for (const spec of specs) {
    const name = spec.type === 'rsa' ? `rsa ${spec.modulusLength}` : `ec ${spec.namedCurve}`;
    it(`${name}: a matching pair, exported alike from either half`, () => {
      const { publicKey, privateKey } = generateKeyPair(spec);
      expect(publicKey.type).toBe('public');
      expect(privateKey.type).toBe('private');
      expect(publicKey.asymmetricKeyType).toBe(spec.type);
      const message = Buffer.from('quote');
      const signature = sign('sha256', message, privateKey);
      expect(verify('sha256', message, publicKey, signature)).toBe(true);
      expect(verify('sha256', Buffer.from('other'), publicKey, signature)).toBe(false);
      expect(createPublicKey(privateKey).export({ format: 'jwk' })).toEqual(publicKey.export({ format: 'jwk' }));
      // Two pairs are two keys.
      expect(generateKeyPair(spec).publicKey.export({ format: 'jwk' })).not.toEqual(publicKey.export({ format: 'jwk' }));
    });
  }
});
