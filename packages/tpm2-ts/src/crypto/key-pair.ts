import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

/** What `generateKeyPair` makes: node:crypto's own names and options. */
export type KeyPairSpec = { readonly type: 'rsa'; readonly modulusLength: number } | { readonly type: 'ec'; readonly namedCurve: string };

/**
 * A fresh software key pair (test TPMs, simulated devices, ephemeral keys)
 * whose KeyObjects can be exported safely. In Node 20 the job that
 * generates a pair keeps a lock shared with the keys it made, its
 * destructor (run by the garbage collector) takes that lock, and exporting
 * one of those keys holds it while allocating: a collection at that moment
 * deadlocks the thread (it hung a test run in `export({ format: 'jwk' })`).
 * So the job hands over DER, and the keys returned are new objects read
 * from it, sharing nothing with the job.
 */
export function generateKeyPair(spec: KeyPairSpec): { readonly publicKey: KeyObject; readonly privateKey: KeyObject } {
  const pair =
    spec.type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: spec.modulusLength, publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } })
      : generateKeyPairSync('ec', { namedCurve: spec.namedCurve, publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } });
  return {
    publicKey: createPublicKey({ key: pair.publicKey, format: 'der', type: 'spki' }),
    privateKey: createPrivateKey({ key: pair.privateKey, format: 'der', type: 'pkcs8' }),
  };
}
