/** Small helpers over Uint8Array used across the package. */

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(s: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(s)) throw new RangeError('not a hex string');
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

export function isAllZero(b: Uint8Array): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

/** ASCII text of `b` if every byte is printable (or a trailing NUL), else undefined. */
export function printableAscii(b: Uint8Array): string | undefined {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  if (end === 0) return b.length === 0 ? '' : undefined;
  for (let i = 0; i < end; i++) {
    const c = b[i]!;
    if (c < 0x20 || c > 0x7e) {
      if (c !== 0x09 && c !== 0x0a && c !== 0x0d) return undefined;
    }
  }
  return Buffer.from(b.subarray(0, end)).toString('latin1');
}

/**
 * UCS-2 text of `b` if it is plausibly a (NUL-terminated) UEFI string of
 * printable Latin characters (every high byte zero), else undefined. The
 * restriction keeps ASCII data from being misread as UTF-16.
 */
export function printableUtf16(b: Uint8Array): string | undefined {
  if (b.length < 2 || b.length % 2 !== 0) return undefined;
  let end = b.length;
  while (end >= 2 && b[end - 1] === 0 && b[end - 2] === 0) end -= 2;
  if (end === 0) return undefined;
  let s = '';
  for (let i = 0; i < end; i += 2) {
    const lo = b[i]!;
    if (b[i + 1] !== 0 || lo > 0x7e || (lo < 0x20 && lo !== 0x09 && lo !== 0x0a && lo !== 0x0d)) return undefined;
    s += String.fromCharCode(lo);
  }
  return s;
}
