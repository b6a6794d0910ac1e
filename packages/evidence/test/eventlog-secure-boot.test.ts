/**
 * Secure boot state and data verification, on logs built here with real
 * X.509 certificates from openssl: the state is read only from verified
 * events, and tampering (changed data, relabelled events, a debugger) shows
 * up as problems instead of a believable state.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ByteWriter } from '../src/binary/byte-writer.js';
import { guid } from '../src/binary/guid.js';
import type { TcgEvent } from '../src/eventlog/event.js';
import { parseEventLog } from '../src/eventlog/parser.js';
import { extractSecureBootState } from '../src/eventlog/secure-boot.js';
import { serializeEventLog, specIdEventData } from '../src/eventlog/serialize.js';
import type { EventInput } from '../src/eventlog/serialize.js';
import { UefiVariableData } from '../src/eventlog/structures/uefi.js';

const GLOBAL = '8be4df61-93ca-11d2-aa0d-00e098032b8c';
const SECURITY_DB = 'd719b2cb-3d3a-4596-a3bc-dad00e67656f';
const CERT_X509 = 'a5c059a1-94e4-4aa7-87b5-ab155c2bf072';
const CERT_SHA256 = 'c1c41626-504c-4092-aca9-41f936934328';
const OWNER = '77fa9abd-0359-4d32-bd60-28f4e78f784b';
const EV = { SEPARATOR: 4, EFI_ACTION: 0x80000007, DRIVER_CONFIG: 0x80000001, AUTHORITY: 0x800000e0, BOOT_APP: 0x80000003, UNUSED: 2 };

let dir: string;
const certs: Record<'pk' | 'kek' | 'db', Buffer> = { pk: Buffer.alloc(0), kek: Buffer.alloc(0), db: Buffer.alloc(0) };

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-sb-'));
  for (const name of ['pk', 'kek', 'db'] as const) {
    const out = join(dir, `${name}.der`);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, `${name}.key`), '-subj', `/CN=vigil test ${name}`, '-days', '1', '-outform', 'DER', '-out', out], { stdio: 'ignore' });
    certs[name] = readFileSync(out);
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function guidBytes(g: string): Buffer {
  const w = new ByteWriter();
  guid.write(w, g);
  return Buffer.from(w.finish());
}

/** EFI_SIGNATURE_LIST built by hand (UEFI 32.4.1), with an optional vendor header. */
function signatureList(type: string, entries: Buffer[], header = Buffer.alloc(0)): Buffer {
  const size = 16 + entries[0]!.length;
  const h = Buffer.alloc(12);
  h.writeUInt32LE(28 + header.length + entries.length * size, 0);
  h.writeUInt32LE(header.length, 4);
  h.writeUInt32LE(size, 8);
  return Buffer.concat([guidBytes(type), h, header, ...entries.flatMap((e) => [guidBytes(OWNER), e])]);
}

function variable(vendor: string, name: string, value: Uint8Array): Uint8Array {
  const w = new ByteWriter();
  UefiVariableData.write(w, { variableName: vendor, unicodeName: name, variableData: value });
  return w.finish();
}

/** A measured event: both banks carry the hash of `measured` (default: the data). */
function ev(pcrIndex: number, eventType: number, data: Uint8Array, measured: Uint8Array = data): EventInput {
  return {
    encoding: 'pcr-event2',
    pcrIndex,
    eventType,
    digests: [
      { algorithmId: 0x0004, bank: 'sha1', digest: new Uint8Array(createHash('sha1').update(measured).digest()) },
      { algorithmId: 0x000b, bank: 'sha256', digest: new Uint8Array(createHash('sha256').update(measured).digest()) },
    ],
    data,
  };
}

const hashA = createHash('sha256').update('revoked image A').digest();
const hashB = createHash('sha256').update('revoked image B').digest();
const allowed = createHash('sha256').update('allowed image').digest();

function secureBootLog(): EventInput[] {
  return [
    { encoding: 'pcr-event', pcrIndex: 0, eventType: 3, digests: [{ algorithmId: 4, bank: 'sha1', digest: new Uint8Array(20) }], data: specIdEventData([0x0004, 0x000b]) },
    ev(7, EV.DRIVER_CONFIG, variable(GLOBAL, 'SecureBoot', Uint8Array.of(1))),
    ev(7, EV.DRIVER_CONFIG, variable(GLOBAL, 'PK', signatureList(CERT_X509, [certs.pk]))),
    ev(7, EV.DRIVER_CONFIG, variable(GLOBAL, 'KEK', signatureList(CERT_X509, [certs.kek]))),
    ev(7, EV.DRIVER_CONFIG, variable(SECURITY_DB, 'db', Buffer.concat([signatureList(CERT_X509, [certs.db]), signatureList(CERT_SHA256, [allowed])]))),
    ev(7, EV.DRIVER_CONFIG, variable(SECURITY_DB, 'dbx', signatureList(CERT_SHA256, [hashA, hashB], Buffer.from('vendor header, not a signature')))),
    ev(7, EV.SEPARATOR, Uint8Array.of(0, 0, 0, 0)),
    ev(7, EV.AUTHORITY, variable(SECURITY_DB, 'db', Buffer.concat([guidBytes(OWNER), certs.db]))),
    ev(4, EV.BOOT_APP, new Uint8Array(40), Buffer.from('the PE image, not in the log')),
  ];
}

function parse(events: EventInput[]): TcgEvent[] {
  return [...parseEventLog(serializeEventLog(events)).events];
}

const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('secure boot state', () => {
  it('reads SecureBoot, PK, KEK, db, dbx and the authorities from verified events', () => {
    const s = extractSecureBootState(parse(secureBootLog()));
    expect(s.problems).toEqual([]);
    expect(s.enabled).toBe(true);
    expect(s.pk.certificates.map((c) => c.certificate?.sha256)).toEqual([sha256Hex(certs.pk)]);
    expect(s.pk.certificates[0]!.certificate?.subject).toContain('vigil test pk');
    expect(s.kek.certificates.map((c) => c.certificate?.sha256)).toEqual([sha256Hex(certs.kek)]);
    expect(s.db.certificates.map((c) => c.certificate?.sha256)).toEqual([sha256Hex(certs.db)]);
    expect(s.db.sha256).toEqual([allowed.toString('hex')]);
    // The vendor header of the dbx list is skipped, never read as hashes.
    expect(s.dbx.sha256).toEqual([hashA.toString('hex'), hashB.toString('hex')]);
    expect(s.authorities).toHaveLength(1);
    expect(s.authorities[0]!.afterSeparator).toBe(true);
    expect(s.authorities[0]!.signature?.certificate?.sha256).toBe(sha256Hex(certs.db));
    expect(s.authorities[0]!.signature?.owner).toBe(OWNER);
  });

  it('marks which event data is bound to the digest', () => {
    const events = parse(secureBootLog());
    expect(events.map((e) => e.verification)).toEqual([
      'unverifiable', // EV_NO_ACTION: never extended
      'verified',
      'verified',
      'verified',
      'verified',
      'verified',
      'verified',
      'verified',
      'unverifiable', // EV_EFI_BOOT_SERVICES_APPLICATION: the digest is of the image
    ]);
  });

  it('does not believe SecureBoot data that does not match its digest', () => {
    const log = secureBootLog();
    const off = variable(GLOBAL, 'SecureBoot', Uint8Array.of(0));
    // Digest of "enabled", data of "disabled": someone edited the data.
    log[1] = { ...ev(7, EV.DRIVER_CONFIG, off), digests: log[1]!.digests };
    const events = parse(log);
    expect(events[1]!.verification).toBe('mismatch');
    const s = extractSecureBootState(events);
    expect(s.enabled).toBeUndefined();
    expect(s.problems.some((p) => p.includes('event 1') && p.includes('does not match'))).toBe(true);
  });

  it('flags relabelled events and variables measured after the separator', () => {
    // Secure boot really was off; the relabelled event hides it and new events claim it on.
    const log = secureBootLog();
    log[1] = { ...ev(7, EV.UNUSED, variable(GLOBAL, 'SecureBoot', Uint8Array.of(0))) };
    log.push(ev(7, EV.DRIVER_CONFIG, variable(GLOBAL, 'SecureBoot', Uint8Array.of(1))));
    const s = extractSecureBootState(parse(log));
    expect(s.problems).toContain('event 1 (EV_UNUSED): unexpected event type in PCR 7');
    expect(s.problems.some((p) => p.includes('after the separator'))).toBe(true);
  });

  it('flags a UEFI debugger and records disabled DMA protection', () => {
    const log = secureBootLog();
    log.splice(6, 0, ev(7, EV.EFI_ACTION, Buffer.from('UEFI Debug Mode')), ev(7, EV.EFI_ACTION, Buffer.from('DMA Protection Disabled')));
    const s = extractSecureBootState(parse(log));
    expect(s.problems.some((p) => p.includes('debugger'))).toBe(true);
    expect(s.dmaProtectionDisabled).toBe(true);
  });

  it('reports a malformed signature database instead of failing', () => {
    const log = secureBootLog();
    const broken = signatureList(CERT_X509, [certs.pk]);
    broken.writeUInt32LE(0x7fff_ffff, 16); // SignatureListSize far beyond the data
    log[2] = ev(7, EV.DRIVER_CONFIG, variable(GLOBAL, 'PK', broken));
    const s = extractSecureBootState(parse(log));
    expect(s.pk.measured).toBe(false);
    expect(s.problems.some((p) => p.includes('PK is not a signature list'))).toBe(true);
    expect(s.problems).toContain('secure boot is on but PK is empty');
  });

  it("accepts old shim's authority events, one byte longer than what was measured, and nothing looser", () => {
    const measured = variable(SECURITY_DB, 'db', Buffer.concat([guidBytes(OWNER), certs.db]));
    const oneByteMore = ev(7, EV.AUTHORITY, Buffer.concat([measured, Buffer.of(0)]), measured);
    const twoBytesMore = ev(7, EV.AUTHORITY, Buffer.concat([measured, Buffer.of(0, 0)]), measured);
    const events = parse([...secureBootLog(), oneByteMore, twoBytesMore]);
    expect(events.at(-2)!.verification).toBe('verified');
    expect(events.at(-1)!.verification).toBe('mismatch');
    const s = extractSecureBootState(events);
    expect(s.authorities.map((a) => a.signature?.certificate?.sha256)).toEqual([sha256Hex(certs.db), sha256Hex(certs.db)]);
    expect(s.problems).toEqual([`event ${events.length - 1} (EV_EFI_VARIABLE_AUTHORITY): data does not match its digest; not used`]);
  });

  it('requires the authorities and databases when secure boot is on', () => {
    const log = secureBootLog().filter((e) => e.eventType !== EV.AUTHORITY);
    expect(extractSecureBootState(parse(log)).problems).toContain('secure boot is on but no authority event shows a key was used');
  });
});
