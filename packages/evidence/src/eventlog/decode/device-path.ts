/**
 * EFI device paths (UEFI 2.10, chapter 10): a sequence of nodes, each
 * {Type UINT8, SubType UINT8, Length UINT16 (header included), data}, ending
 * with the End Entire node (0x7f, 0xff). Rendered in the UEFI text form
 * (10.6) for the common nodes, `Path(type,subtype,hex)` for the rest.
 */
import { ByteReader } from '../../binary/byte-reader.js';
import { toHex } from '../../binary/bytes.js';
import { guid } from '../../binary/guid.js';
import { DecodeError } from '../../binary/errors.js';

export interface DevicePathNode {
  readonly type: number;
  readonly subType: number;
  readonly data: Uint8Array;
  readonly text: string;
}

export interface DevicePath {
  readonly nodes: readonly DevicePathNode[];
  readonly text: string;
}

/** Parses a device path; throws DecodeError if a node's length is inconsistent. */
export function parseDevicePath(bytes: Uint8Array, base = 0): DevicePath {
  const r = new ByteReader(bytes, base);
  const nodes: DevicePathNode[] = [];
  while (r.remaining > 0) {
    const at = r.offset;
    const type = r.u8();
    const subType = r.u8();
    const length = r.u16();
    if (length < 4) throw new DecodeError(at, `device path node length ${length} is below its 4-byte header`);
    const data = r.bytes(length - 4);
    if (type === 0x7f && subType === 0xff) break;
    nodes.push({ type, subType, data, text: nodeText(type, subType, data) });
  }
  let text = '';
  for (const n of nodes) {
    if (n.type === 0x7f) text += ',';
    else text += (text === '' || text.endsWith(',') ? '' : '/') + n.text;
  }
  return { nodes, text };
}

const hex = (n: number | bigint) => `0x${n.toString(16)}`;

function nodeText(type: number, subType: number, data: Uint8Array): string {
  try {
    const text = knownNodeText(type, subType, new ByteReader(data));
    if (text !== undefined) return text;
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
  }
  return `Path(${type},${subType},${toHex(data)})`;
}

function knownNodeText(type: number, subType: number, r: ByteReader): string | undefined {
  switch ((type << 8) | subType) {
    case 0x0101: {
      const fn = r.u8();
      const dev = r.u8();
      return `Pci(${hex(dev)},${hex(fn)})`;
    }
    case 0x0104:
      return `VenHw(${guid.read(r)})`;
    case 0x0201: {
      const hid = r.u32();
      const uid = r.u32();
      if (hid === 0x0a0341d0) return `PciRoot(${hex(uid)})`;
      if (hid === 0x0a0841d0) return `PcieRoot(${hex(uid)})`;
      return `Acpi(${hex(hid)},${hex(uid)})`;
    }
    case 0x0302: {
      const target = r.u16();
      const lun = r.u16();
      return `Scsi(${hex(target)},${hex(lun)})`;
    }
    case 0x0305: {
      const port = r.u8();
      const iface = r.u8();
      return `USB(${hex(port)},${hex(iface)})`;
    }
    case 0x030a:
      return `VenMsg(${guid.read(r)})`;
    case 0x030b:
      return `MAC(${toHex(r.bytes(6))})`;
    case 0x0312: {
      const hba = r.u16();
      const pm = r.u16();
      const lun = r.u16();
      return `Sata(${hex(hba)},${hex(pm)},${hex(lun)})`;
    }
    case 0x0317: {
      const nsid = r.u32();
      return `NVMe(${hex(nsid)},${toHex(r.bytes(8))})`;
    }
    case 0x0318:
      return `Uri(${Buffer.from(r.rest()).toString('latin1')})`;
    case 0x0401: {
      const partition = r.u32();
      const start = r.u64();
      const size = r.u64();
      const signature = r.bytes(16);
      r.u8(); // MBRType
      const signatureType = r.u8();
      if (signatureType === 2) {
        return `HD(${partition},GPT,${guid.read(new ByteReader(signature))},${hex(start)},${hex(size)})`;
      }
      if (signatureType === 1) {
        const mbr = new DataView(signature.buffer, signature.byteOffset, 4).getUint32(0, true);
        return `HD(${partition},MBR,${hex(mbr)},${hex(start)},${hex(size)})`;
      }
      return `HD(${partition},${signatureType},0,${hex(start)},${hex(size)})`;
    }
    case 0x0402: {
      const entry = r.u32();
      const start = r.u64();
      const size = r.u64();
      return `CDROM(${hex(entry)},${hex(start)},${hex(size)})`;
    }
    case 0x0403:
      return `VenMedia(${guid.read(r)})`;
    case 0x0404: {
      let s = '';
      while (r.remaining >= 2) {
        const c = r.u16();
        if (c === 0) break;
        s += String.fromCharCode(c);
      }
      return s;
    }
    case 0x0406:
      return `FvFile(${guid.read(r)})`;
    case 0x0407:
      return `Fv(${guid.read(r)})`;
    case 0x0408: {
      r.u32();
      const start = r.u64();
      const end = r.u64();
      return `Offset(${hex(start)},${hex(end)})`;
    }
    case 0x7f01:
      return ',';
    default:
      return undefined;
  }
}
