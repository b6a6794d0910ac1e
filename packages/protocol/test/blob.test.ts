import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ProtocolError, decodeBlob, encodeBlob } from '../src/index.js';

describe('blobs', () => {
  it('round-trip with and without gzip', () => {
    const text = Buffer.from('10 0f1e2d ima-ng sha256:00ff /usr/bin/bash\n'.repeat(500));
    for (const encoding of ['gzip', 'identity'] as const) {
      const blob = encodeBlob(text, encoding);
      expect(blob.encoding).toBe(encoding);
      expect(Buffer.from(decodeBlob(blob, text.length))).toEqual(text);
    }
    // gzip pays for text logs.
    expect(encodeBlob(text, 'gzip').data.length).toBeLessThan(encodeBlob(text, 'identity').data.length / 4);
  });

  it('stops inflating a decompression bomb at the limit', () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024)); // 64 MiB of zeros in ~64 KiB
    expect(bomb.length).toBeLessThan(128 * 1024);
    const blob = { encoding: 'gzip' as const, data: bomb.toString('base64') };
    expect(() => decodeBlob(blob, 1024 * 1024)).toThrowError(/inflates beyond 1048576 bytes/);
    try {
      decodeBlob(blob, 1024 * 1024);
    } catch (err) {
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).reason).toBe('invalid-compression');
    }
  });

  it('refuses corrupt gzip and oversized identity blobs with typed errors', () => {
    const good = encodeBlob(randomBytes(1000), 'gzip');
    const corrupt = Buffer.from(good.data, 'base64');
    corrupt[20] = corrupt[20]! ^ 0xff;
    corrupt[21] = corrupt[21]! ^ 0xff;
    expect(() => decodeBlob({ encoding: 'gzip', data: corrupt.toString('base64') }, 10_000)).toThrowError(ProtocolError);
    expect(() => decodeBlob({ encoding: 'gzip', data: Buffer.from('not gzip').toString('base64') }, 10_000)).toThrowError(ProtocolError);
    const truncated = Buffer.from(good.data, 'base64').subarray(0, 30);
    expect(() => decodeBlob({ encoding: 'gzip', data: truncated.toString('base64') }, 10_000)).toThrowError(ProtocolError);
    expect(() => decodeBlob(encodeBlob(randomBytes(101), 'identity'), 100)).toThrowError(/exceeds 100/);
  });
});
