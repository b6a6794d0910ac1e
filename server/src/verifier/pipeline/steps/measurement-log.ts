import type { ImaEntry } from '@vigil/evidence';
import type { EarStatus, ImaLogChunk, Submodule } from '@vigil/protocol/core';
import { reason } from '../../../policy/appraise/reason.js';
import type { MeasurementLogState } from '../../../store/index.js';
import { MeasurementChunkError, readMeasurementChunk } from '../../logs/measurement-chunk.js';
import { isReplayBank, replayChain, type ReplayBank } from '../../logs/measurement-replay.js';
import type { Appraisal } from '../appraisal.js';

/** How one measurement log (IMA, models) is checked: its PCR, its submodule and its reason codes' prefix. */
export interface MeasurementLogKind {
  readonly submodule: Extract<Submodule, 'os' | 'models'>;
  /** `ima` or `model`: reason codes are `<prefix>-log-mismatch`, ... */
  readonly prefix: 'ima' | 'model';
  readonly pcr: number;
  readonly disposition: Extract<EarStatus, 'warning' | 'contraindicated'>;
  readonly maxInflated: number;
  /** Extra per-entry checks (template, PCR); a returned message fails the log. */
  validate(entry: ImaEntry): { code: string; message: string } | undefined;
}

export interface MeasurementLogOutcome {
  readonly state: MeasurementLogState;
  /** Entries newly verified by this quote (absolute index of the first one is `firstEntry`). */
  readonly verified: readonly ImaEntry[];
  readonly firstEntry: number;
}

/**
 * Steps 10 and 11, a measurement log replays to its PCR. The chunk must
 * continue the log where the verified part ends (or restart it at 0); its
 * entries are replayed onto the values verified so far, and the prefix
 * whose result equals the quoted PCR in every quoted bank becomes verified.
 * The agent reads its log after quoting, so entries the quote does not
 * cover yet wait for the next attestation. No matching prefix means the PCR
 * holds measurements the log does not show, or the log was altered:
 * `<prefix>-log-mismatch`. Returns the new state, or undefined after
 * recording why the log could not be verified.
 */
export async function checkMeasurementLog(
  a: Appraisal,
  kind: MeasurementLogKind,
  current: MeasurementLogState,
  chunk: ImaLogChunk | undefined,
): Promise<MeasurementLogOutcome | undefined> {
  const sub = kind.submodule;
  const code = (what: string) => `${kind.prefix}-${what}`;
  const quoted = new Map<ReplayBank, Uint8Array>();
  for (const [bank, values] of Object.entries(a.evidence!.pcrs)) {
    const v = values?.[String(kind.pcr)];
    if (v !== undefined && isReplayBank(bank)) quoted.set(bank, Buffer.from(v, 'hex'));
  }
  if (quoted.size === 0) {
    if (chunk !== undefined) a.v.fail(sub, 'none', reason(code('pcr-not-quoted'), `the ${kind.prefix} log was sent but PCR ${kind.pcr} was not quoted`, { pcr: kind.pcr }));
    return undefined;
  }
  a.v.appraise(sub);

  let base = current;
  let entries: ImaEntry[] = [];
  if (chunk !== undefined) {
    if (chunk.offset === 0 && current.entries !== 0) base = { entries: 0, pcrs: {} };
    else if (chunk.offset !== current.entries) {
      a.v.fail(sub, 'none', reason(code('log-offset-mismatch'), `the ${kind.prefix} log chunk starts at entry ${chunk.offset}; the verifier holds ${current.entries} entries of this boot`, { pcr: kind.pcr }));
      return undefined;
    }
    try {
      entries = await readMeasurementChunk(chunk, kind.maxInflated);
    } catch (err) {
      if (!(err instanceof MeasurementChunkError)) throw err;
      a.v.fail(sub, kind.disposition, reason(code('log-invalid'), err.message, { pcr: kind.pcr }));
      return undefined;
    }
  }
  for (let i = 0; i < entries.length; i++) {
    const problem = kind.validate(entries[i]!);
    if (problem !== undefined) {
      a.v.fail(sub, kind.disposition, reason(problem.code, problem.message, { pcr: kind.pcr, event: base.entries + i }));
      return undefined;
    }
  }

  const start = new Map<ReplayBank, Uint8Array>();
  for (const bank of quoted.keys()) {
    const v = base.pcrs[bank]?.[String(kind.pcr)];
    if (v !== undefined) start.set(bank, Buffer.from(v, 'hex'));
  }
  const replay = replayChain(start, entries, quoted);
  if (replay.unreplayable.length > 0) {
    a.v.fail(sub, 'none', reason(code('log-unreplayable'), `entries without template data cannot be replayed into ${replay.unreplayable.join(', ')}`, { pcr: kind.pcr }));
    return undefined;
  }
  if (replay.matchedAt < 0) {
    const [bank, actual] = [...replay.values][0]!;
    a.v.fail(
      sub,
      kind.disposition,
      reason(code('log-mismatch'), `${bank} PCR ${kind.pcr} is not what the ${kind.prefix} log replays to: something was measured that the log does not show, or the log was altered`, {
        bank,
        pcr: kind.pcr,
        expected: Buffer.from(actual).toString('hex'),
        actual: Buffer.from(quoted.get(bank)!).toString('hex'),
      }),
    );
    return undefined;
  }
  const pcrs: Record<string, Record<string, string>> = {};
  for (const [bank, bankValues] of Object.entries(base.pcrs)) if (bankValues !== undefined) pcrs[bank] = { ...bankValues };
  for (const [bank, v] of replay.values) pcrs[bank] = { ...pcrs[bank], [String(kind.pcr)]: Buffer.from(v).toString('hex') };
  return {
    state: { entries: base.entries + replay.matchedAt, pcrs },
    verified: entries.slice(0, replay.matchedAt),
    firstEntry: base.entries,
  };
}
