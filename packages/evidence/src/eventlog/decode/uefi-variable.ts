/**
 * UEFI_VARIABLE_DATA event data (PFP 10.2.6) and the values of the variables
 * the PFP has firmware measure: the secure boot variables and databases
 * (PCR 7), the boot variables (PCR 1) and the authority that verified an image.
 */
import { ByteReader } from '../../binary/byte-reader.js';
import { DecodeError } from '../../binary/errors.js';
import { EventType } from '../event-types.js';
import { Guid } from '../guids.js';
import { EfiLoadOption, UefiVariableData } from '../structures/uefi.js';
import { parseDevicePath } from './device-path.js';
import type { UefiVariable, UefiVariableValue } from './event-data.js';
import { certificateInfo, parseSignatureData, parseSignatureLists } from './signature-list.js';

const BOOLEAN_VARIABLES = new Set(['SecureBoot', 'SetupMode', 'AuditMode', 'DeployedMode']);
const GLOBAL_SIGNATURE_DATABASES = new Set(['PK', 'KEK', 'PKDefault', 'KEKDefault', 'dbDefault', 'dbxDefault']);
const SECURITY_DATABASES = new Set(['db', 'dbx', 'dbt', 'dbr']);
const SHIM_SIGNATURE_DATABASES = new Set(['MokList', 'MokListX', 'MokListTrusted']);

/**
 * Parses UEFI_VARIABLE_DATA. Its own lengths delimit it: bytes after it are
 * ignored (old shim appends some to its authority events).
 */
export function parseUefiVariable(data: Uint8Array, eventType: number, base = 0): UefiVariable {
  const r = new ByteReader(data, base);
  const v = UefiVariableData.read(r);
  const dataBase = r.offset - v.variableData.length;
  return {
    vendorGuid: v.variableName,
    name: v.unicodeName,
    data: v.variableData,
    value: variableValue(v.variableName, v.unicodeName, v.variableData, eventType, dataBase),
  };
}

function variableValue(vendor: string, name: string, data: Uint8Array, eventType: number, base: number): UefiVariableValue {
  try {
    if (eventType === EventType.EV_EFI_VARIABLE_AUTHORITY) {
      const signature = parseSignatureData(new ByteReader(data, base), 'x509');
      if (signature.certificate) return { kind: 'signature', signature };
      // Old shim logs the certificate it verified with without the owner GUID.
      const certificate = certificateInfo(data);
      if (certificate) return { kind: 'signature', signature: { owner: vendor, type: 'x509', data: data.slice(), certificate } };
      // shim also logs its own variables (SbatLevel, MokListTrusted) as authority events.
      if (vendor === Guid.SHIM_LOCK) return { kind: 'bytes' };
      return { kind: 'signature', signature };
    }
    const global = vendor === Guid.EFI_GLOBAL_VARIABLE;
    if (global && BOOLEAN_VARIABLES.has(name)) {
      // Firmware measures a variable that does not exist with no data (PFP
      // 3.3.4.8); an absent SecureBoot variable means secure boot is off.
      if (data.length > 1) throw new DecodeError(base, `${name} must be 1 byte, is ${data.length}`);
      return { kind: 'boolean', value: data[0] === 1 };
    }
    if (
      (global && GLOBAL_SIGNATURE_DATABASES.has(name)) ||
      (vendor === Guid.EFI_IMAGE_SECURITY_DATABASE && SECURITY_DATABASES.has(name)) ||
      (vendor === Guid.SHIM_LOCK && SHIM_SIGNATURE_DATABASES.has(name))
    ) {
      return { kind: 'signature-lists', lists: parseSignatureLists(data, base) };
    }
    if (global && name === 'BootOrder') {
      if (data.length % 2 !== 0) throw new DecodeError(base, 'BootOrder has an odd length');
      const r = new ByteReader(data, base);
      const order: number[] = [];
      while (r.remaining > 0) order.push(r.u16());
      return { kind: 'boot-order', order };
    }
    if (global && /^Boot[0-9A-F]{4}$/.test(name)) {
      return { kind: 'load-option', option: loadOption(data, base) };
    }
    return { kind: 'bytes' };
  } catch (err) {
    if (err instanceof DecodeError) return { kind: 'malformed', reason: err.message };
    throw err;
  }
}

function loadOption(data: Uint8Array, base: number) {
  const o = EfiLoadOption.read(new ByteReader(data, base));
  return {
    attributes: o.attributes,
    active: (o.attributes & 1) === 1,
    description: o.description,
    devicePath: parseDevicePath(o.filePathList),
    optionalData: o.optionalData,
  };
}
