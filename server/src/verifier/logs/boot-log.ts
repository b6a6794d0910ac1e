import { hash } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import {
  EventLogReplayer,
  EventType,
  extractSecureBootState,
  readEventLog,
  type SignatureDatabase,
  type TcgEvent,
} from '@vigil/evidence';
import type { BootEventFact, BootLogFacts, SignatureDatabaseFact } from '../../policy/facts.js';

/** Largest event data accepted in one event (db/dbx are a few hundred KiB at most). */
const MAX_EVENT_DATA = 1024 * 1024;
/** Events parsed between two yields to the event loop, so a big log never stalls other devices' verdicts. */
const EVENTS_PER_SLICE = 256;

/** What the verifier keeps of a boot event log: its replay and the facts policies read. Cached by digest. */
export interface BootLogAnalysis {
  readonly digest: string;
  /**
   * Bank name → PCR index → value after replay, for every PCR the log
   * extends, as lowercase hex: as evidence reports PCR values, so that every
   * verdict of a boot compares strings made once.
   */
  readonly replay: ReadonlyMap<string, ReadonlyMap<number, string>>;
  /** Banks the log carries digests for. */
  readonly banks: ReadonlySet<string>;
  readonly events: number;
  readonly facts: BootLogFacts;
  /** Bytes of the raw log (for the cache's size accounting). */
  readonly size: number;
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/**
 * Parses and replays a boot event log, collecting what the policy checks:
 * boot application and driver digests, and the secure boot state (read only
 * from verified PCR 7 events, see `extractSecureBootState`). Streams the
 * events and yields to the event loop every few hundred of them.
 * Throws EventLogParseError for a malformed log.
 */
export async function analyseBootLog(bytes: Uint8Array, digest: string): Promise<BootLogAnalysis> {
  const replayer = new EventLogReplayer();
  const banks = new Set<string>();
  const applications: BootEventFact[] = [];
  const drivers: BootEventFact[] = [];
  const pcr7: TcgEvent[] = [];
  let events = 0;
  for await (const e of readEventLog(bytes, { maxEventDataSize: MAX_EVENT_DATA })) {
    replayer.add(e);
    events++;
    if (e.eventType !== EventType.EV_NO_ACTION) for (const d of e.digests) banks.add(d.bank);
    if (e.eventType === EventType.EV_EFI_BOOT_SERVICES_APPLICATION) applications.push(fact(e));
    else if (e.eventType === EventType.EV_EFI_BOOT_SERVICES_DRIVER || e.eventType === EventType.EV_EFI_RUNTIME_SERVICES_DRIVER) drivers.push(fact(e));
    if (e.pcrIndex === 7) pcr7.push(e);
    if (events % EVENTS_PER_SLICE === 0) await yieldToEventLoop();
  }
  const sb = extractSecureBootState(pcr7);
  return {
    digest,
    replay: new Map([...replayer.result().pcrs].map(([bank, values]) => [bank, new Map([...values].map(([pcr, v]) => [pcr, hex(v)]))])),
    banks,
    events,
    size: bytes.length,
    facts: {
      applications,
      drivers,
      secureBoot: {
        enabled: sb.enabled,
        problems: sb.problems,
        pk: database(sb.pk),
        kek: database(sb.kek),
        db: database(sb.db),
        dbx: database(sb.dbx),
      },
    },
  };
}

function fact(e: TcgEvent): BootEventFact {
  return { event: e.index, pcr: e.pcrIndex, digests: e.digests.map((d) => hex(d.digest)) };
}

/**
 * A signature database's entries by the SHA-256 of their content: an X.509
 * entry by its certificate's fingerprint, an EFI_CERT_SHA256 entry by the
 * hash it lists (so policies can name dbx hashes as published).
 */
function database(db: SignatureDatabase): SignatureDatabaseFact {
  const entries = [
    ...db.certificates.map((c) => c.certificate?.sha256 ?? hash('sha256', c.data, 'hex')),
    ...db.sha256,
    ...db.other.map((s) => hash('sha256', s.data, 'hex')),
  ];
  return { measured: db.measured, entries };
}
