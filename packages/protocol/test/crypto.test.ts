import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ENROLL_PROOF_LABEL,
  REVOCATION_SIGNING_CONTEXT,
  computeEnrollProof,
  decodeRevocation,
  encodeRevocation,
  keyIdOf,
  randomId,
  revocationSigningBytes,
  signRevocation,
  verifyEnrollProof,
  verifyRevocation,
  type UnsignedRevocationEvent,
} from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-protocol-crypto-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The generating job's own DER output, read into new KeyObjects: keyIdOf (signing and verifying)
 * exports the key, and exporting a KeyObject straight from node's key generation can deadlock in Node 20.
 */
const SPKI_DER = { type: 'spki', format: 'der' } as const;
const PKCS8_DER = { type: 'pkcs8', format: 'der' } as const;
function fromDer(pair: { publicKey: Buffer; privateKey: Buffer }): { privateKey: KeyObject; publicKey: KeyObject } {
  return { privateKey: createPrivateKey({ key: pair.privateKey, format: 'der', type: 'pkcs8' }), publicKey: createPublicKey({ key: pair.publicKey, format: 'der', type: 'spki' }) };
}

describe('enrollment proof', () => {
  const secret = randomBytes(32);
  const bootstrapId = 'ab'.repeat(32);
  const sessionId = randomId();

  it('is the HMAC-SHA256 openssl computes over label NUL bootstrapId NUL sessionId', () => {
    const message = join(dir, 'proof-message.bin');
    writeFileSync(message, Buffer.concat([Buffer.from(ENROLL_PROOF_LABEL), Buffer.from([0]), Buffer.from(bootstrapId), Buffer.from([0]), Buffer.from(sessionId)]));
    const out = execFileSync('openssl', ['dgst', '-sha256', '-mac', 'HMAC', '-macopt', `hexkey:${secret.toString('hex')}`, '-r', message], { encoding: 'utf8' });
    expect(computeEnrollProof(secret, bootstrapId, sessionId)).toBe(out.split(' ')[0]);
  });

  it('verifies only with the same secret, bootstrap id and session id', () => {
    const proof = computeEnrollProof(secret, bootstrapId, sessionId);
    expect(verifyEnrollProof(secret, bootstrapId, sessionId, proof)).toBe(true);
    expect(verifyEnrollProof(randomBytes(32), bootstrapId, sessionId, proof)).toBe(false);
    expect(verifyEnrollProof(secret, 'cd'.repeat(32), sessionId, proof)).toBe(false);
    expect(verifyEnrollProof(secret, bootstrapId, randomId(), proof)).toBe(false);
    expect(verifyEnrollProof(secret, bootstrapId, sessionId, proof.toUpperCase())).toBe(false);
    expect(verifyEnrollProof(secret, bootstrapId, sessionId, proof.slice(2))).toBe(false);
    expect(verifyEnrollProof(secret, bootstrapId, sessionId, '')).toBe(false);
  });
});

describe('revocation signatures', () => {
  const unsigned: UnsignedRevocationEvent = {
    v: 1,
    deviceId: 'cam-17',
    serials: ['0a1b2c3d4e5f60718293a4b5c6d7e8f9', '01'],
    reason: 'contraindicated',
    message: 'PCR 13 does not replay the model log',
    revokedAt: 1_767_225_600_000,
  };
  const keys: Array<[string, { privateKey: KeyObject; publicKey: KeyObject }]> = [
    ['RSA-2048', fromDer(generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: SPKI_DER, privateKeyEncoding: PKCS8_DER }))],
    ['ECDSA P-256', fromDer(generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: SPKI_DER, privateKeyEncoding: PKCS8_DER }))],
    ['Ed25519', fromDer(generateKeyPairSync('ed25519', { publicKeyEncoding: SPKI_DER, privateKeyEncoding: PKCS8_DER }))],
  ];

  it('signs exactly the context string plus the canonical JSON without the signature', () => {
    const { privateKey } = keys[0]![1];
    const event = signRevocation(unsigned, privateKey);
    const expected =
      REVOCATION_SIGNING_CONTEXT +
      `{"deviceId":"cam-17","keyId":"${keyIdOf(privateKey)}","message":"PCR 13 does not replay the model log",` +
      `"reason":"contraindicated","revokedAt":1767225600000,"serials":["0a1b2c3d4e5f60718293a4b5c6d7e8f9","01"],"v":1}`;
    expect(Buffer.from(revocationSigningBytes(event)).toString('utf8')).toBe(expected);
  });

  it.each(keys)('%s: openssl verifies the signature over those bytes', (name, { privateKey, publicKey }) => {
    if (name === 'Ed25519') return; // `openssl dgst` cannot do one-shot EdDSA; covered by node below.
    const event = signRevocation(unsigned, privateKey);
    const data = join(dir, `rev-${name}.bin`);
    const sig = join(dir, `rev-${name}.sig`);
    const pub = join(dir, `rev-${name}.pem`);
    writeFileSync(data, revocationSigningBytes(event));
    writeFileSync(sig, Buffer.from(event.signature, 'base64'));
    writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
    const out = execFileSync('openssl', ['dgst', '-sha256', '-verify', pub, '-signature', sig, data], { encoding: 'utf8' });
    expect(out.trim()).toBe('Verified OK');
  });

  it.each(keys)('%s: verify accepts the signed event and refuses any change or another key', (_name, { privateKey, publicKey }) => {
    const event = signRevocation(unsigned, privateKey);
    expect(event.keyId).toBe(keyIdOf(publicKey));
    // It is a valid protocol message.
    expect(decodeRevocation(encodeRevocation(event))).toEqual(event);
    expect(verifyRevocation(event, publicKey)).toBe(true);
    const tampered = [
      { ...event, deviceId: 'cam-18' },
      { ...event, serials: [...event.serials, 'ff'] },
      { ...event, reason: 'admin' as const },
      { ...event, revokedAt: event.revokedAt + 1 },
      { ...event, message: undefined },
      { ...event, signature: Buffer.from(randomBytes(64)).toString('base64') },
    ];
    for (const t of tampered) expect(verifyRevocation(t, publicKey)).toBe(false);
    const other = fromDer(generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: SPKI_DER, privateKeyEncoding: PKCS8_DER }));
    expect(verifyRevocation(event, other.publicKey)).toBe(false);
    // Signed by another key but claiming ours.
    const forged = { ...signRevocation(unsigned, other.privateKey), keyId: event.keyId };
    expect(verifyRevocation(forged, publicKey)).toBe(false);
  });
});
