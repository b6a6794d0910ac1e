/**
 * EFI_SIGNATURE_LIST (UEFI 2.10, 32.4.1): the format of PK, KEK, db, dbx and
 * shim's MokList. A variable holds several lists back to back; each list has
 * one signature type and a fixed SignatureSize per EFI_SIGNATURE_DATA.
 * Every size is checked against the list and the input before it is used.
 */
import { X509Certificate } from 'node:crypto';
import { ByteReader } from '../../binary/byte-reader.js';
import { DecodeError } from '../../binary/errors.js';
import { SIGNATURE_TYPES } from '../guids.js';
import type { SignatureTypeName } from '../guids.js';
import { EfiSignatureData, EfiSignatureListHeader } from '../structures/uefi.js';

export interface CertificateInfo {
  readonly subject: string;
  readonly issuer: string;
  readonly serialNumber: string;
  /** SHA-256 of the DER encoding, lowercase hex. */
  readonly sha256: string;
  readonly der: Uint8Array;
}

export interface SignatureEntry {
  readonly owner: string;
  readonly type: SignatureTypeName;
  /** The certificate (DER) or hash bytes. */
  readonly data: Uint8Array;
  /** For `x509` entries whose data parses as a certificate. */
  readonly certificate?: CertificateInfo;
}

export interface SignatureList {
  readonly signatureType: string;
  readonly type: SignatureTypeName;
  readonly signatures: readonly SignatureEntry[];
}

const LIST_HEADER_SIZE = 28;
const OWNER_SIZE = 16;

/** Parses a sequence of EFI_SIGNATURE_LISTs (an empty input is an empty database). */
export function parseSignatureLists(bytes: Uint8Array, base = 0): SignatureList[] {
  const r = new ByteReader(bytes, base);
  const lists: SignatureList[] = [];
  while (r.remaining > 0) {
    const at = r.offset;
    const h = EfiSignatureListHeader.read(r);
    if (h.signatureListSize < LIST_HEADER_SIZE) {
      throw new DecodeError(at, `SignatureListSize ${h.signatureListSize} is smaller than the list header`);
    }
    const bodySize = h.signatureListSize - LIST_HEADER_SIZE;
    if (bodySize > r.remaining) throw new DecodeError(at, `SignatureListSize ${h.signatureListSize} runs past the data`);
    if (h.signatureHeaderSize > bodySize) {
      throw new DecodeError(at, `SignatureHeaderSize ${h.signatureHeaderSize} exceeds the list`);
    }
    if (h.signatureSize < OWNER_SIZE) throw new DecodeError(at, `SignatureSize ${h.signatureSize} is smaller than the owner GUID`);
    const signaturesSize = bodySize - h.signatureHeaderSize;
    if (signaturesSize % h.signatureSize !== 0) {
      throw new DecodeError(at, `signature area of ${signaturesSize} bytes is not a multiple of SignatureSize ${h.signatureSize}`);
    }
    // The vendor header is skipped, never read as signatures.
    r.bytes(h.signatureHeaderSize);
    const type = SIGNATURE_TYPES.get(h.signatureType) ?? 'unknown';
    const signatures: SignatureEntry[] = [];
    for (let i = 0; i < signaturesSize / h.signatureSize; i++) {
      signatures.push(parseSignatureData(r.sub(h.signatureSize), type));
    }
    lists.push({ signatureType: h.signatureType, type, signatures });
  }
  return lists;
}

/** One EFI_SIGNATURE_DATA (the data of an EV_EFI_VARIABLE_AUTHORITY variable is one of these). */
export function parseSignatureData(r: ByteReader, type: SignatureTypeName): SignatureEntry {
  const d = EfiSignatureData.read(r);
  const data = d.signatureData.slice();
  if (type !== 'x509') return { owner: d.signatureOwner, type, data };
  const certificate = certificateInfo(data);
  return certificate ? { owner: d.signatureOwner, type, data, certificate } : { owner: d.signatureOwner, type, data };
}

/** Subject, issuer and fingerprint of a DER certificate, or undefined if it does not parse. */
export function certificateInfo(der: Uint8Array): CertificateInfo | undefined {
  try {
    const c = new X509Certificate(der);
    return {
      subject: c.subject,
      issuer: c.issuer,
      serialNumber: c.serialNumber,
      sha256: c.fingerprint256.replaceAll(':', '').toLowerCase(),
      der,
    };
  } catch {
    return undefined;
  }
}
