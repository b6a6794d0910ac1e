// KDFa and KDFe against an independent implementation: OpenSSL's KBKDF
// (SP 800-108 counter mode with HMAC) and SSKDF (SP 800-56C one-step with a
// hash), run as the `openssl kdf` command. KDFa's label with its zero octet
// is KBKDF's label followed by its 0x00 separator, contextU || contextV its
// context, and [L]32 its length field; KDFe's label || 0 || partyU || partyV
// is SSKDF's FixedInfo.
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TPM_ALG } from '../src/constants/alg.js';
import { kdfa, kdfe } from '../src/crypto/kdf.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const OPENSSL_DIGEST: Record<number, string> = { [TPM_ALG.SHA1]: 'SHA1', [TPM_ALG.SHA256]: 'SHA256', [TPM_ALG.SHA384]: 'SHA384', [TPM_ALG.SHA512]: 'SHA512' };

function openssl(args: string[]): Uint8Array {
  const out = execFileSync('openssl', ['kdf', ...args], { encoding: 'utf8' });
  return new Uint8Array(Buffer.from(out.trim().replace(/:/g, ''), 'hex'));
}

const label = fc.stringMatching(/^[A-Z]{1,12}$/);
const hashAlg = fc.constantFrom(TPM_ALG.SHA1, TPM_ALG.SHA256, TPM_ALG.SHA384, TPM_ALG.SHA512);
const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max });

describe('KDFa (Part 1 §11.4.10.2)', () => {
  it('equals OpenSSL KBKDF counter mode with HMAC', () => {
    fc.assert(
      fc.property(hashAlg, fc.uint8Array({ minLength: 1, maxLength: 64 }), label, bytes(40), bytes(40), fc.integer({ min: 1, max: 80 }), (h, key, l, u, v, nBytes) => {
        const ours = kdfa(h, key, l, u, v, nBytes * 8);
        const args = ['-keylen', String(nBytes), '-kdfopt', `digest:${OPENSSL_DIGEST[h]}`, '-kdfopt', 'mac:HMAC', '-kdfopt', `hexkey:${hex(key)}`];
        args.push('-kdfopt', `hexsalt:${Buffer.from(l).toString('hex')}`);
        if (u.length + v.length > 0) args.push('-kdfopt', `hexinfo:${hex(u)}${hex(v)}`);
        expect(hex(ours)).toBe(hex(openssl([...args, 'KBKDF'])));
      }),
      { numRuns: 25 },
    );
  });

  it('output is bits/8 long, and the length is hashed in: a longer output does not start with a shorter one', () => {
    const key = new Uint8Array(32).fill(7);
    const a = kdfa(TPM_ALG.SHA256, key, 'STORAGE', new Uint8Array(0), new Uint8Array(0), 128);
    const b = kdfa(TPM_ALG.SHA256, key, 'STORAGE', new Uint8Array(0), new Uint8Array(0), 256);
    expect(a).toHaveLength(16);
    // [L]32 is hashed into every block, so a different length gives different bytes.
    expect(hex(b.subarray(0, 16))).not.toBe(hex(a));
  });

  it('rejects bit counts that are not whole bytes', () => {
    expect(() => kdfa(TPM_ALG.SHA256, new Uint8Array(1), 'X', new Uint8Array(0), new Uint8Array(0), 12)).toThrow(/multiple of 8/);
  });
});

describe('KDFe (Part 1 §11.4.10.3)', () => {
  it('equals OpenSSL SSKDF with a hash', () => {
    fc.assert(
      fc.property(hashAlg, fc.uint8Array({ minLength: 1, maxLength: 66 }), label, bytes(66), bytes(66), fc.integer({ min: 1, max: 80 }), (h, z, l, u, v, nBytes) => {
        const ours = kdfe(h, z, l, u, v, nBytes * 8);
        const fixedInfo = `${Buffer.from(`${l}\0`).toString('hex')}${hex(u)}${hex(v)}`;
        const theirs = openssl(['-keylen', String(nBytes), '-kdfopt', `digest:${OPENSSL_DIGEST[h]}`, '-kdfopt', `hexkey:${hex(z)}`, '-kdfopt', `hexinfo:${fixedInfo}`, 'SSKDF']);
        expect(hex(ours)).toBe(hex(theirs));
      }),
      { numRuns: 25 },
    );
  });
});
