/**
 * Byte-level mutations for fuzzing, driven by one 32-bit random number so
 * fast-check can shrink them and the coverage-guided loop can replay them:
 * bit flips, interesting values written over 1, 2 or 4 bytes (sizes set to
 * 0, 1, the maximum, just past the end), truncation, inserted or removed
 * runs, duplicated chunks, and splices with another seed.
 */

/** Values that break size and count fields (AFL's "interesting" integers). */
const INTERESTING = [0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff];

/** A small deterministic generator seeded by `r` (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function mutate(input: Uint8Array, r: number, corpus: readonly Uint8Array[] = []): Uint8Array {
  const next = rng(r);
  const int = (n: number) => Math.floor(next() * n);
  const bytes = Uint8Array.from(input);
  const n = bytes.length;
  switch (int(8)) {
    case 0: {
      if (n === 0) return Uint8Array.of(int(256));
      const at = int(n);
      bytes[at] = bytes[at]! ^ (1 << int(8));
      return bytes;
    }
    case 1: {
      if (n === 0) return bytes;
      const width = [1, 2, 4][int(3)]!;
      const at = int(n);
      const value = INTERESTING[int(INTERESTING.length)]! + (int(3) - 1);
      const bigEndian = int(2) === 0;
      for (let i = 0; i < width && at + i < n; i++) {
        const shift = bigEndian ? (width - 1 - i) * 8 : i * 8;
        bytes[at + i] = (value >>> shift) & 0xff;
      }
      return bytes;
    }
    case 2:
      return bytes.subarray(0, int(n + 1));
    case 3: {
      const at = int(n + 1);
      const run = new Uint8Array(1 + int(32)).map(() => (int(2) === 0 ? int(256) : 0));
      const out = new Uint8Array(n + run.length);
      out.set(bytes.subarray(0, at));
      out.set(run, at);
      out.set(bytes.subarray(at), at + run.length);
      return out;
    }
    case 4: {
      if (n === 0) return bytes;
      const at = int(n);
      const len = 1 + int(Math.min(64, n - at));
      const out = new Uint8Array(n - len);
      out.set(bytes.subarray(0, at));
      out.set(bytes.subarray(at + len), at);
      return out;
    }
    case 5: {
      if (n === 0) return bytes;
      const from = int(n);
      const len = 1 + int(Math.min(128, n - from));
      const at = int(n + 1);
      const out = new Uint8Array(n + len);
      out.set(bytes.subarray(0, at));
      out.set(bytes.subarray(from, from + len), at);
      out.set(bytes.subarray(at), at + len);
      return out;
    }
    case 6: {
      const other = corpus.length > 0 ? corpus[int(corpus.length)]! : bytes;
      const cut = int(n + 1);
      const from = int(other.length + 1);
      const out = new Uint8Array(cut + other.length - from);
      out.set(bytes.subarray(0, cut));
      out.set(other.subarray(from), cut);
      return out;
    }
    default: {
      // Several byte overwrites at once.
      for (let k = 1 + int(8); k > 0 && n > 0; k--) bytes[int(n)] = int(256);
      return bytes;
    }
  }
}
