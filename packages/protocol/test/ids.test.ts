import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ProtocolError,
  bootstrapIdFromSpki,
  deviceIdFromEkPublic,
  isDeviceId,
  isRandomId,
  randomPublicBytes,
  randomId,
  timeOrderedId,
} from '../src/index.js';
import { tpm2b } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-protocol-ids-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** SHA-256 computed by openssl, an implementation independent of ours. */
function opensslSha256(file: string): string {
  const out = execFileSync('openssl', ['dgst', '-sha256', '-r', file], { encoding: 'utf8' });
  return out.split(' ')[0]!;
}

describe('identifiers', () => {
  it('bootstrapIdFromSpki equals openssl\'s SHA-256 of the public key DER it extracts from the PEM', () => {
    for (const [type, opts] of [['rsa', { modulusLength: 2048 }], ['ec', { namedCurve: 'P-256' }]] as const) {
      // PEM from the generating job itself, read into a new KeyObject: exporting the job's own keys can deadlock in Node 20.
      const generated = generateKeyPairSync(type as 'rsa', { ...(opts as { modulusLength: number }), publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
      const publicKey = createPublicKey(generated.publicKey);
      const pem = join(dir, `${type}.pem`);
      const der = join(dir, `${type}.der`);
      writeFileSync(pem, publicKey.export({ type: 'spki', format: 'pem' }));
      execFileSync('openssl', ['pkey', '-pubin', '-in', pem, '-outform', 'DER', '-out', der]);
      const id = bootstrapIdFromSpki(publicKey.export({ type: 'spki', format: 'der' }));
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      expect(id).toBe(opensslSha256(der));
    }
  });

  it('deviceIdFromEkPublic is ek- plus 40 hex of SHA-256 over the TPMT_PUBLIC inside the TPM2B', () => {
    const body = randomBytes(314);
    const file = join(dir, 'tpmt_public.bin');
    writeFileSync(file, body);
    const id = deviceIdFromEkPublic(tpm2b(body));
    expect(id).toBe('ek-' + opensslSha256(file).slice(0, 40));
    expect(isDeviceId(id)).toBe(true);
    // Stable, and different for a different EK.
    expect(deviceIdFromEkPublic(tpm2b(body))).toBe(id);
    expect(deviceIdFromEkPublic(tpm2b(randomBytes(314)))).not.toBe(id);
  });

  it('deviceIdFromEkPublic refuses a TPM2B whose size field lies', () => {
    const good = tpm2b(randomBytes(100));
    for (const bad of [new Uint8Array(0), new Uint8Array(1), new Uint8Array([0, 0]), good.subarray(0, 50), Uint8Array.from([...good, 0])]) {
      expect(() => deviceIdFromEkPublic(bad)).toThrowError(ProtocolError);
      try {
        deviceIdFromEkPublic(bad);
      } catch (err) {
        expect((err as ProtocolError).reason).toBe('invalid-structure');
      }
    }
  });

  it('randomId gives 128-bit base64url ids that are valid and distinct', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => randomId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(isRandomId(id)).toBe(true);
    expect(Buffer.from([...ids][0]!, 'base64url')).toHaveLength(16);
  });

  it('timeOrderedId: the clock in its first 12 hex digits, 96 random bits after, valid and distinct', () => {
    const t = Date.UTC(2026, 10, 28, 12, 0, 0, 123);
    const ids = Array.from({ length: 1000 }, (_, i) => timeOrderedId(t + i));
    for (const [i, id] of ids.entries()) {
      expect(id).toHaveLength(28);
      expect(isRandomId(id)).toBe(true);
      expect(Number.parseInt(id.slice(0, 12), 16)).toBe(t + i);
    }
    expect(new Set(ids.map((id) => id.slice(12))).size).toBe(1000);
    // Ids of later milliseconds sort after earlier ones: the B-tree locality the store wants.
    expect([...ids].reverse().sort()).toEqual(ids);
    // Two ids of the same millisecond differ (the random part).
    expect(timeOrderedId(t)).not.toBe(timeOrderedId(t));
    // A clock outside 48 bits is clamped, never a longer or shorter prefix.
    expect(timeOrderedId(-5).slice(0, 12)).toBe('000000000000');
    expect(timeOrderedId(2 ** 60).slice(0, 12)).toBe('ffffffffffff');
  });

  it('a SHA-256 digest of an EK is never mistaken for an id with forbidden characters', () => {
    const id = deviceIdFromEkPublic(tpm2b(createHash('sha256').update('x').digest()));
    expect(id).not.toMatch(/[/+#$\u0000]/);
  });
});

describe('randomPublicBytes', () => {
  it('hands out every pooled byte once: lengths as asked, no two values alike across refills', () => {
    const seen = new Set<string>();
    let total = 0;
    // Enough to cross several 4 KiB refills, with lengths that do not divide the pool.
    for (let i = 0; i < 1000; i++) {
      const length = [16, 32, 33, 7][i % 4]!;
      const b = randomPublicBytes(length);
      expect(b.length).toBe(length);
      total += length;
      seen.add(b.toString('hex'));
    }
    expect(seen.size).toBe(1000);
    expect(total).toBeGreaterThan(4 * 4096);
  });

  it('returns a copy the next refill does not change', () => {
    const first = randomPublicBytes(32);
    const kept = Buffer.from(first);
    for (let i = 0; i < 300; i++) randomPublicBytes(32);
    expect(first.equals(kept)).toBe(true);
  });

  it('refuses lengths outside 1 to 256', () => {
    for (const n of [0, -1, 257, 1.5, Number.NaN]) expect(() => randomPublicBytes(n)).toThrow(RangeError);
  });
});
