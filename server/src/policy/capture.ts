import { modelPcrOf } from './defaults.js';
import { PolicyError } from './errors.js';
import type { BootLogFacts } from './facts.js';
import { BANKS, type PolicyDocument } from './schema.js';
import type { DeviceLogState } from '../store/index.js';

/** What a capture is made from: a device's last verified evidence, as the verifier stored it. */
export interface CaptureSource {
  readonly deviceId: string;
  readonly state: DeviceLogState;
  /** The analysed boot event log of that boot, if the device sent one. */
  readonly bootLog: BootLogFacts | null;
}

/** The IMA PCR and the model PCR change while the device runs: their contents are appraised through their logs, never as golden values. */
const RUNTIME_PCRS = (modelPcr: number) => new Set([10, modelPcr]);

/**
 * Golden values from a known-good device (the reference device workflow):
 * - `pcrs`: the value of every PCR its last verified quote covered (in every
 *   bank quoted), except IMA's PCR 10 and the model PCR;
 * - `pcrSelection`: the PCRs that quote covered;
 * - `eventLog`: the digests of its boot applications and drivers (SHA-256
 *   where the log has them), its secure boot state (required when it is on and
 *   free of problems), the PK, KEK and db entries it booted with, and its dbx
 *   entries as ones every device's dbx must still contain (so a dbx rollback fails);
 * - `models`: each model file's current digest, by path, on its model PCR.
 */
export function captureGoldenValues(source: CaptureSource, options: { modelPcr?: number; description?: string } = {}): PolicyDocument {
  const quoted = source.state.verifiedPcrs;
  if (quoted === null) throw new PolicyError('no-evidence', `device ${source.deviceId} has no verified attestation to capture golden values from`);
  const modelPcr = options.modelPcr ?? modelPcrOf(undefined);
  const runtime = RUNTIME_PCRS(modelPcr);
  const pcrs: Record<string, Record<string, string[]>> = {};
  const selection: Record<string, number[]> = {};
  for (const bank of BANKS) {
    const values = quoted[bank];
    if (values === undefined) continue;
    selection[bank] = Object.keys(values).map(Number).sort((a, b) => a - b);
    const golden: Record<string, string[]> = {};
    for (const [pcr, value] of Object.entries(values)) if (!runtime.has(Number(pcr))) golden[pcr] = [value];
    if (Object.keys(golden).length > 0) pcrs[bank] = golden;
  }
  const doc: { -readonly [K in keyof PolicyDocument]: PolicyDocument[K] } = {
    v: 1,
    description: options.description ?? `captured from ${source.deviceId} on ${new Date(source.state.updatedAt).toISOString()}`,
    pcrSelection: selection,
    pcrs,
  };
  const log = source.bootLog;
  if (log !== null) {
    const preferred = (digests: readonly string[]) => digests.find((d) => d.length === 64) ?? digests[0];
    const unique = (events: BootLogFacts['applications']) => [...new Set(events.map((e) => preferred(e.digests)).filter((d): d is string => d !== undefined))];
    const sb = log.secureBoot;
    doc.eventLog = {
      ...(log.applications.length > 0 ? { bootApplications: unique(log.applications) } : {}),
      ...(log.drivers.length > 0 ? { bootDrivers: unique(log.drivers) } : {}),
      secureBoot: {
        required: sb.enabled === true && sb.problems.length === 0,
        ...(sb.pk.measured ? { pk: [...new Set(sb.pk.entries)] } : {}),
        ...(sb.kek.measured ? { kek: [...new Set(sb.kek.entries)] } : {}),
        ...(sb.db.measured ? { db: [...new Set(sb.db.entries)] } : {}),
        ...(sb.dbx.measured && sb.dbx.entries.length > 0 ? { dbxMustContain: [...new Set(sb.dbx.entries)] } : {}),
      },
    };
  }
  const latest = new Map<string, string>();
  for (const m of source.state.model.measurements) latest.set(m.path, m.digest);
  doc.models = { pcr: modelPcr, ...(latest.size > 0 ? { allowed: Object.fromEntries([...latest].map(([p, d]) => [p, [d]])) } : {}) };
  return doc;
}
