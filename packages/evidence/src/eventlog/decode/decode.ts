/**
 * Decodes event data by event type (PFP 1.05, 10.4). Decoding never throws
 * for bad data: a structure that does not parse becomes `malformed`, because
 * event data is untrusted and a log must still replay whatever it contains.
 */
import { ByteReader } from '../../binary/byte-reader.js';
import { bytesEqual, printableAscii, printableUtf16 } from '../../binary/bytes.js';
import { decodeExact } from '../../binary/codec.js';
import { DecodeError } from '../../binary/errors.js';
import { guid } from '../../binary/guid.js';
import type { RawEvent } from '../event.js';
import { EventType } from '../event-types.js';
import { CONFIGURATION_TABLES } from '../guids.js';
import { STARTUP_LOCALITY, StartupLocalityEvent, TaggedEvent } from '../structures/tcg.js';
import {
  EfiPartitionEntry,
  EfiPartitionTableHeader,
  UefiPlatformFirmwareBlob,
  UefiPlatformFirmwareBlob2,
  uefiHandoffTablePointers,
  uefiHandoffTablePointers2,
  uefiImageLoadEvent,
  uintn,
} from '../structures/uefi.js';
import { parseDevicePath } from './device-path.js';
import type { EventData, GptPartition, HandoffTable } from './event-data.js';
import { parseUefiVariable } from './uefi-variable.js';

/** Decodes the data of `event`. `uintnSize` is the UINTN width from the Spec ID event (8 for SHA1 logs). */
export function decodeEventData(event: RawEvent, uintnSize: 4 | 8): EventData {
  try {
    return decode(event, uintnSize);
  } catch (err) {
    if (err instanceof DecodeError) return { kind: 'malformed', reason: err.message };
    throw err;
  }
}

function decode(e: RawEvent, uintnSize: 4 | 8): EventData {
  const data = e.data;
  const r = () => new ByteReader(data);
  switch (e.eventType) {
    case EventType.EV_NO_ACTION: {
      if (data.length === 17 && bytesEqual(data.subarray(0, 16), STARTUP_LOCALITY)) {
        return { kind: 'startup-locality', locality: decodeExact(StartupLocalityEvent, r()).startupLocality };
      }
      const signature = data.length >= 16 ? printableAscii(data.subarray(0, 16)) : undefined;
      return signature !== undefined ? { kind: 'no-action', signature } : { kind: 'bytes' };
    }
    case EventType.EV_SEPARATOR: {
      if (data.length !== 4) throw new DecodeError(0, `separator data is ${data.length} bytes, not 4`);
      return { kind: 'separator', value: r().u32() };
    }
    case EventType.EV_EFI_ACTION:
    case EventType.EV_ACTION:
    case EventType.EV_OMIT_BOOT_DEVICE_EVENTS: {
      const text = printableAscii(data);
      if (text === undefined) throw new DecodeError(0, 'action is not ASCII text');
      return { kind: 'text', text };
    }
    case EventType.EV_S_CRTM_VERSION:
    case EventType.EV_S_CRTM_CONTENTS:
    case EventType.EV_POST_CODE:
    case EventType.EV_POST_CODE2:
    case EventType.EV_IPL:
    case EventType.EV_EFI_HCRTM_EVENT:
    case EventType.EV_COMPACT_HASH:
    case EventType.EV_PLATFORM_CONFIG_FLAGS:
    case EventType.EV_TABLE_OF_DEVICES:
    case EventType.EV_NONHOST_INFO: {
      const text = printableUtf16(data) ?? printableAscii(data);
      if (text !== undefined) return { kind: 'text', text };
      // Firmware that predates EV_EFI_PLATFORM_FIRMWARE_BLOB logs the blob as EV_POST_CODE (PFP 10.4.1).
      if (e.eventType === EventType.EV_POST_CODE && data.length === 16) return firmwareBlob(r());
      if (e.eventType === EventType.EV_S_CRTM_VERSION && data.length === 16) return { kind: 'text', text: guid.read(r()) };
      return { kind: 'bytes' };
    }
    case EventType.EV_EFI_VARIABLE_DRIVER_CONFIG:
    case EventType.EV_EFI_VARIABLE_BOOT:
    case EventType.EV_EFI_VARIABLE_BOOT2:
    case EventType.EV_EFI_VARIABLE_AUTHORITY:
      return { kind: 'uefi-variable', variable: parseUefiVariable(data, e.eventType) };
    case EventType.EV_EFI_BOOT_SERVICES_APPLICATION:
    case EventType.EV_EFI_BOOT_SERVICES_DRIVER:
    case EventType.EV_EFI_RUNTIME_SERVICES_DRIVER: {
      // Not decodeExact: some firmware pads the structure (the tpm2-tools
      // bootorder and uefi-sha1 fixtures carry 9 bytes after the device path).
      const v = uefiImageLoadEvent(uintnSize).read(r());
      return {
        kind: 'image-load',
        imageLocationInMemory: v.imageLocationInMemory,
        imageLengthInMemory: v.imageLengthInMemory,
        imageLinkTimeAddress: v.imageLinkTimeAddress,
        devicePath: parseDevicePath(v.devicePath),
      };
    }
    case EventType.EV_EFI_PLATFORM_FIRMWARE_BLOB:
      return firmwareBlob(r());
    case EventType.EV_EFI_PLATFORM_FIRMWARE_BLOB2: {
      const v = decodeExact(UefiPlatformFirmwareBlob2, r());
      return { kind: 'firmware-blob', description: latin1(v.blobDescription), base: v.blobBase, length: v.blobLength };
    }
    case EventType.EV_EFI_HANDOFF_TABLES: {
      const v = decodeExact(uefiHandoffTablePointers(uintnSize), r());
      return { kind: 'handoff-tables', tables: v.tableEntry.map(handoffTable) };
    }
    case EventType.EV_EFI_HANDOFF_TABLES2: {
      const v = decodeExact(uefiHandoffTablePointers2(uintnSize), r());
      return { kind: 'handoff-tables', description: latin1(v.tableDescription), tables: v.tableEntry.map(handoffTable) };
    }
    case EventType.EV_EFI_GPT_EVENT:
    case EventType.EV_EFI_GPT_EVENT2:
      return gpt(r(), uintnSize);
    case EventType.EV_EVENT_TAG: {
      const v = decodeExact(TaggedEvent, r());
      return { kind: 'tagged', id: v.taggedEventId, data: v.taggedEventData };
    }
    default:
      return { kind: 'bytes' };
  }
}

function firmwareBlob(r: ByteReader): EventData {
  const v = decodeExact(UefiPlatformFirmwareBlob, r);
  return { kind: 'firmware-blob', base: v.blobBase, length: v.blobLength };
}

function handoffTable(t: { vendorGuid: string; vendorTable: bigint }): HandoffTable {
  const name = CONFIGURATION_TABLES.get(t.vendorGuid);
  return name ? { vendorGuid: t.vendorGuid, name, vendorTable: t.vendorTable } : t;
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b).toString('latin1').replace(/\0+$/, '');
}

/** UEFI_GPT_DATA (PFP 10.2.5): the GPT header, then NumberOfPartitions entries of SizeOfPartitionEntry bytes. */
function gpt(r: ByteReader, uintnSize: 4 | 8): EventData {
  const header = EfiPartitionTableHeader.read(r);
  const entrySize = header.sizeOfPartitionEntry;
  if (entrySize < EfiPartitionEntry.minSize) throw new DecodeError(r.offset, `SizeOfPartitionEntry ${entrySize} is below 128`);
  const count = uintn(uintnSize).readCount(r, entrySize);
  const partitions: GptPartition[] = [];
  for (let i = 0; i < count; i++) {
    const p = EfiPartitionEntry.read(r.sub(entrySize));
    const name = new ByteReader(p.partitionName);
    let text = '';
    while (name.remaining >= 2) {
      const c = name.u16();
      if (c === 0) break;
      text += String.fromCharCode(c);
    }
    partitions.push({
      typeGuid: p.partitionTypeGuid,
      uniqueGuid: p.uniquePartitionGuid,
      startingLba: p.startingLba,
      endingLba: p.endingLba,
      attributes: p.attributes,
      name: text,
    });
  }
  r.expectEnd('UEFI_GPT_DATA');
  return { kind: 'gpt', diskGuid: header.diskGuid, partitions };
}
