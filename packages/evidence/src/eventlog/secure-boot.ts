/**
 * Secure boot state from the PCR 7 events of a log (PFP 1.05, 3.3.4.8 and
 * 10.4.4): the SecureBoot variable, the PK, KEK, db and dbx databases, and
 * the db entries that authorized each image (EV_EFI_VARIABLE_AUTHORITY).
 *
 * Only verified event data is read (go-attestation's disclosure: a tampered
 * event type or data would otherwise be trusted). Anything that makes the
 * state doubtful, an unverified or unexpected PCR 7 event, a variable
 * measured twice or after the separator, a debugger, is listed in `problems`;
 * a policy must treat a state with problems as untrustworthy. The log must
 * also replay to the quoted PCR 7 for any of this to mean anything.
 */
import type { SignatureEntry, SignatureList } from './decode/signature-list.js';
import type { TcgEvent } from './event.js';
import { EventType } from './event-types.js';
import { Guid } from './guids.js';

export interface SignatureDatabase {
  /** Whether the variable was measured at all. */
  readonly measured: boolean;
  /** X.509 entries (with certificate details when the DER parses). */
  readonly certificates: readonly SignatureEntry[];
  /** EFI_CERT_SHA256 entries, lowercase hex. */
  readonly sha256: readonly string[];
  /** Entries of any other signature type. */
  readonly other: readonly SignatureEntry[];
}

export interface Authority {
  readonly eventIndex: number;
  /**
   * Before the PCR 7 separator: an authority used during platform
   * initialization (drivers, option ROMs); after it: one that verified a boot
   * application (the OS loader, and what shim verifies with its own lists).
   */
  readonly afterSeparator: boolean;
  readonly vendorGuid: string;
  readonly variableName: string;
  /** The db entry (or shim MOK entry) that authorized the image; absent for shim's own records (SbatLevel). */
  readonly signature?: SignatureEntry;
}

export interface SecureBootState {
  /** The measured SecureBoot variable; undefined if it was not measured. */
  readonly enabled: boolean | undefined;
  readonly pk: SignatureDatabase;
  readonly kek: SignatureDatabase;
  readonly db: SignatureDatabase;
  readonly dbx: SignatureDatabase;
  readonly authorities: readonly Authority[];
  /** The platform reported DMA protection disabled (EV_EFI_ACTION "DMA Protection Disabled"). */
  readonly dmaProtectionDisabled: boolean;
  /** Why this state cannot be trusted; empty when everything checked out. */
  readonly problems: readonly string[];
}

type DatabaseName = 'pk' | 'kek' | 'db' | 'dbx';

/** The event types the PFP puts in PCR 7 (3.3.4.8), all of which bind their data. */
const PCR7_TYPES: ReadonlySet<number> = new Set([
  EventType.EV_SEPARATOR,
  EventType.EV_EFI_ACTION,
  EventType.EV_EFI_VARIABLE_DRIVER_CONFIG,
  EventType.EV_EFI_VARIABLE_AUTHORITY,
]);

function databaseOf(vendor: string, name: string): DatabaseName | undefined {
  if (vendor === Guid.EFI_GLOBAL_VARIABLE && name === 'PK') return 'pk';
  if (vendor === Guid.EFI_GLOBAL_VARIABLE && name === 'KEK') return 'kek';
  if (vendor === Guid.EFI_IMAGE_SECURITY_DATABASE && name === 'db') return 'db';
  if (vendor === Guid.EFI_IMAGE_SECURITY_DATABASE && name === 'dbx') return 'dbx';
  return undefined;
}

const EMPTY: SignatureDatabase = { measured: false, certificates: [], sha256: [], other: [] };

function database(lists: readonly SignatureList[]): SignatureDatabase {
  const certificates: SignatureEntry[] = [];
  const sha256: string[] = [];
  const other: SignatureEntry[] = [];
  for (const l of lists) {
    for (const s of l.signatures) {
      if (s.type === 'x509') certificates.push(s);
      else if (s.type === 'sha256' && s.data.length === 32) sha256.push(Buffer.from(s.data).toString('hex'));
      else other.push(s);
    }
  }
  return { measured: true, certificates, sha256, other };
}

export function extractSecureBootState(events: Iterable<TcgEvent>): SecureBootState {
  const problems: string[] = [];
  const dbs: Record<DatabaseName, SignatureDatabase> = { pk: EMPTY, kek: EMPTY, db: EMPTY, dbx: EMPTY };
  const authorities: Authority[] = [];
  const seenVariables = new Set<string>();
  let enabled: boolean | undefined;
  let separator = false;
  let dmaProtectionDisabled = false;

  for (const e of events) {
    if (e.pcrIndex !== 7 || e.eventType === EventType.EV_NO_ACTION) continue;
    const where = `event ${e.index} (${e.typeName})`;
    if (!PCR7_TYPES.has(e.eventType)) {
      // An event type that does not belong in PCR 7 may be a relabelled measurement.
      problems.push(`${where}: unexpected event type in PCR 7`);
      continue;
    }
    if (e.verification !== 'verified') {
      problems.push(`${where}: data does not match its digest; not used`);
      continue;
    }
    const d = e.decoded;
    switch (e.eventType) {
      case EventType.EV_SEPARATOR:
        if (separator) problems.push(`${where}: second separator in PCR 7`);
        if (d.kind !== 'separator' || d.value !== 0) problems.push(`${where}: separator signals a firmware error`);
        separator = true;
        break;
      case EventType.EV_EFI_ACTION:
        if (d.kind === 'text' && d.text === 'UEFI Debug Mode') problems.push(`${where}: a UEFI debugger was enabled during boot`);
        else if (d.kind === 'text' && d.text === 'DMA Protection Disabled') dmaProtectionDisabled = true;
        else problems.push(`${where}: unexpected EFI action in PCR 7`);
        break;
      case EventType.EV_EFI_VARIABLE_DRIVER_CONFIG: {
        if (d.kind !== 'uefi-variable') {
          problems.push(`${where}: ${d.kind === 'malformed' ? d.reason : 'not a UEFI variable'}`);
          break;
        }
        const v = d.variable;
        const key = `${v.vendorGuid}/${v.name}`;
        if (seenVariables.has(key)) problems.push(`${where}: ${v.name} measured twice`);
        seenVariables.add(key);
        if (separator) problems.push(`${where}: ${v.name} measured after the separator`);
        if (v.vendorGuid === Guid.EFI_GLOBAL_VARIABLE && v.name === 'SecureBoot') {
          if (v.value.kind === 'boolean') enabled = v.value.value;
          else problems.push(`${where}: SecureBoot is not a boolean`);
          break;
        }
        const name = databaseOf(v.vendorGuid, v.name);
        if (name) {
          if (v.value.kind === 'signature-lists') dbs[name] = database(v.value.lists);
          else problems.push(`${where}: ${v.name} is not a signature list: ${v.value.kind === 'malformed' ? v.value.reason : v.value.kind}`);
        }
        break;
      }
      case EventType.EV_EFI_VARIABLE_AUTHORITY: {
        if (d.kind !== 'uefi-variable') {
          problems.push(`${where}: ${d.kind === 'malformed' ? d.reason : 'not a UEFI variable'}`);
          break;
        }
        const v = d.variable;
        const base = { eventIndex: e.index, afterSeparator: separator, vendorGuid: v.vendorGuid, variableName: v.name };
        if (v.value.kind === 'signature') authorities.push({ ...base, signature: v.value.signature });
        else if (v.value.kind === 'bytes') authorities.push(base);
        else problems.push(`${where}: authority is not an EFI_SIGNATURE_DATA`);
        break;
      }
    }
  }

  if (enabled === undefined) problems.push('the SecureBoot variable was not measured');
  if (enabled) {
    if (!dbs.pk.measured || (dbs.pk.certificates.length === 0 && dbs.pk.other.length === 0)) problems.push('secure boot is on but PK is empty');
    if (!dbs.kek.measured || dbs.kek.certificates.length + dbs.kek.other.length === 0) problems.push('secure boot is on but KEK is empty');
    if (!dbs.db.measured || dbs.db.certificates.length + dbs.db.sha256.length + dbs.db.other.length === 0) {
      problems.push('secure boot is on but db is empty');
    }
    if (authorities.length === 0) problems.push('secure boot is on but no authority event shows a key was used');
  }
  return { enabled, ...dbs, authorities, dmaProtectionDisabled, problems };
}
