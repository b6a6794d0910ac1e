/**
 * UEFI structures found in event data, as codec definitions. References: PFP
 * 1.05 section 10.2.3-10.2.6 and the UEFI specification 2.10 (chapter 10
 * device paths, 5.3 GPT, 3.1.3 load options, 32.4.1 signature database).
 * Fields the PFP types as UINTN take the width the Spec ID event declares.
 */
import { bytes, fixedBytes, lengthOf, list, restBytes, sized, struct, u16, u32, u64, u8, utf16 } from '../../binary/codec.js';
import type { Codec, CodecValue, IntCodec } from '../../binary/codec.js';
import { DecodeError } from '../../binary/errors.js';
import { guid } from '../../binary/guid.js';

/** UINTN as a bigint-valued codec of the platform's width. */
export function uintn(uintnSize: 4 | 8): IntCodec<bigint> {
  if (uintnSize === 8) return u64;
  return {
    ...u32,
    typeName: 'UINTN32',
    read: (r) => BigInt(r.u32()),
    write: (w, v) => void w.u32(Number(v)),
    readCount: u32.readCount,
    writeCount: (w, n) => void w.u32(n),
  } satisfies IntCodec<bigint>;
}

/** UEFI_VARIABLE_DATA (PFP 10.2.6, table 16). */
export const UefiVariableData = struct('UEFI_VARIABLE_DATA', {
  variableName: guid,
  unicodeNameLength: lengthOf(u64),
  variableDataLength: lengthOf(u64),
  unicodeName: sized('unicodeNameLength', utf16),
  variableData: sized('variableDataLength', bytes),
});
export type UefiVariableData = CodecValue<typeof UefiVariableData>;

/** UEFI_IMAGE_LOAD_EVENT (PFP 10.2.3). */
export function uefiImageLoadEvent(uintnSize: 4 | 8) {
  const n = uintn(uintnSize);
  return struct('UEFI_IMAGE_LOAD_EVENT', {
    imageLocationInMemory: u64,
    imageLengthInMemory: n,
    imageLinkTimeAddress: n,
    lengthOfDevicePath: lengthOf(n),
    devicePath: sized('lengthOfDevicePath', bytes),
  });
}

/** UEFI_PLATFORM_FIRMWARE_BLOB (PFP 10.2.4). */
export const UefiPlatformFirmwareBlob = struct('UEFI_PLATFORM_FIRMWARE_BLOB', {
  blobBase: u64,
  blobLength: u64,
});

/** UEFI_PLATFORM_FIRMWARE_BLOB2 (PFP 10.2.4). */
export const UefiPlatformFirmwareBlob2 = struct('UEFI_PLATFORM_FIRMWARE_BLOB2', {
  blobDescriptionSize: lengthOf(u8),
  blobDescription: sized('blobDescriptionSize', bytes),
  blobBase: u64,
  blobLength: u64,
});

/** EFI_CONFIGURATION_TABLE as logged in handoff tables (vendor GUID, table pointer). */
function configurationTable(uintnSize: 4 | 8) {
  return struct('EFI_CONFIGURATION_TABLE', { vendorGuid: guid, vendorTable: uintn(uintnSize) });
}

/** UEFI_HANDOFF_TABLE_POINTERS (PFP 10.2.5). */
export function uefiHandoffTablePointers(uintnSize: 4 | 8) {
  return struct('UEFI_HANDOFF_TABLE_POINTERS', {
    numberOfTables: lengthOf(uintn(uintnSize)),
    tableEntry: sized('numberOfTables', list(configurationTable(uintnSize))),
  });
}

/** UEFI_HANDOFF_TABLE_POINTERS2 (PFP 10.2.5). */
export function uefiHandoffTablePointers2(uintnSize: 4 | 8) {
  return struct('UEFI_HANDOFF_TABLE_POINTERS2', {
    tableDescriptionSize: lengthOf(u8),
    tableDescription: sized('tableDescriptionSize', bytes),
    numberOfTables: lengthOf(uintn(uintnSize)),
    tableEntry: sized('numberOfTables', list(configurationTable(uintnSize))),
  });
}

/** EFI_PARTITION_TABLE_HEADER (UEFI 5.3.2, 92 bytes). */
export const EfiPartitionTableHeader = struct('EFI_PARTITION_TABLE_HEADER', {
  signature: fixedBytes(8),
  revision: u32,
  headerSize: u32,
  headerCrc32: u32,
  reserved: u32,
  myLba: u64,
  alternateLba: u64,
  firstUsableLba: u64,
  lastUsableLba: u64,
  diskGuid: guid,
  partitionEntryLba: u64,
  numberOfPartitionEntries: u32,
  sizeOfPartitionEntry: u32,
  partitionEntryArrayCrc32: u32,
});

/** EFI_PARTITION_ENTRY (UEFI 5.3.3, the first 128 bytes of each entry). */
export const EfiPartitionEntry = struct('EFI_PARTITION_ENTRY', {
  partitionTypeGuid: guid,
  uniquePartitionGuid: guid,
  startingLba: u64,
  endingLba: u64,
  attributes: u64,
  partitionName: fixedBytes(72),
});

/**
 * A NUL-terminated CHAR16 string (the NUL is consumed, not returned). Reading
 * stops at the end of the input, so it is bounded like every other field.
 */
export const utf16z: Codec<string> = {
  kind: 'codec',
  typeName: 'CHAR16*',
  minSize: 2,
  read(r) {
    const at = r.offset;
    let s = '';
    for (;;) {
      if (r.remaining < 2) throw new DecodeError(at, 'unterminated CHAR16 string');
      const c = r.u16();
      if (c === 0) return s;
      s += String.fromCharCode(c);
    }
  },
  write(w, v) {
    for (let i = 0; i < v.length; i++) w.u16(v.charCodeAt(i));
    w.u16(0);
  },
};

/** EFI_LOAD_OPTION (UEFI 3.1.3): the value of a Boot#### variable. */
export const EfiLoadOption = struct('EFI_LOAD_OPTION', {
  attributes: u32,
  filePathListLength: lengthOf(u16),
  description: utf16z,
  filePathList: sized('filePathListLength', bytes),
  optionalData: restBytes,
});

/** EFI_SIGNATURE_LIST header (UEFI 32.4.1); the signatures follow, SignatureSize bytes each. */
export const EfiSignatureListHeader = struct('EFI_SIGNATURE_LIST', {
  signatureType: guid,
  signatureListSize: u32,
  signatureHeaderSize: u32,
  signatureSize: u32,
});

/** EFI_SIGNATURE_DATA (UEFI 32.4.1): owner GUID then the signature (a certificate or a hash). */
export const EfiSignatureData = struct('EFI_SIGNATURE_DATA', {
  signatureOwner: guid,
  signatureData: restBytes,
});
