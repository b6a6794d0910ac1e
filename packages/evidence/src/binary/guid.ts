import type { Codec } from './codec.js';

const GUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * EFI_GUID (UEFI spec, appendix A): Data1 UINT32, Data2 UINT16, Data3 UINT16
 * little-endian, then Data4 as 8 bytes in order. Values are the usual
 * lowercase registry form, e.g. `8be4df61-93ca-11d2-aa0d-00e098032b8c`.
 */
export const guid: Codec<string> = {
  kind: 'codec',
  typeName: 'EFI_GUID',
  minSize: 16,
  read(r) {
    const d1 = r.u32();
    const d2 = r.u16();
    const d3 = r.u16();
    const d4 = Buffer.from(r.bytes(8)).toString('hex');
    return `${hex(d1, 8)}-${hex(d2, 4)}-${hex(d3, 4)}-${d4.slice(0, 4)}-${d4.slice(4)}`;
  },
  write(w, v) {
    if (!GUID_TEXT.test(v)) throw new RangeError(`not a GUID: ${v}`);
    const [d1, d2, d3, d4a, d4b] = v.split('-') as [string, string, string, string, string];
    w.u32(parseInt(d1, 16)).u16(parseInt(d2, 16)).u16(parseInt(d3, 16)).bytes(Buffer.from(d4a + d4b, 'hex'));
  },
};

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}
