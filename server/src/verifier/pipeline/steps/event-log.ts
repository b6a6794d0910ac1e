import { hash } from 'node:crypto';
import { EventLogParseError } from '@vigil/evidence';
import { HASH_ALGORITHMS, type HashAlgorithm } from '@vigil/protocol';
import { ProtocolError } from '@vigil/protocol/core';
import { reason } from '../../../policy/appraise/reason.js';
import type { BootLogAnalysis } from '../../logs/boot-log.js';
import { decodeBlobAsync } from '../../logs/blob.js';
import { REPLAY_BANKS } from '../../logs/measurement-replay.js';
import type { Appraisal, PipelineDeps, StepResult } from '../appraisal.js';

/** PCR 10 belongs to IMA (its own log); the model PCR to the model log. */
export const IMA_PCR = 10;
/** A boot event log inflates to at most this (real ones are well under 1 MiB). */
export const MAX_BOOT_LOG_INFLATED = 16 * 1024 * 1024;

/**
 * Step 9, the boot event log replays to the quoted PCRs. Every quoted PCR
 * except IMA's and the model PCR is governed by the boot event log: its
 * quoted value must equal the log's replay, or zero if the log never
 * extends it. So a PCR extended outside the log, an event whose digest was
 * altered, or a log of another boot fails here (`event-log-mismatch`, with
 * the bank, PCR, replayed and quoted values). The log arrives in full when
 * it changed (checked against its declared SHA-256, analysed once per
 * digest and cached) or is named by digest.
 */
export async function eventLogStep(a: Appraisal, deps: PipelineDeps): Promise<StepResult> {
  const ev = a.evidence!;
  const modelPcr = a.policy!.modelPcr;
  const governed: Array<{ bank: HashAlgorithm; pcr: number; value: string }> = [];
  for (const bank of HASH_ALGORITHMS) {
    for (const [key, value] of Object.entries(ev.pcrs[bank] ?? {})) {
      const pcr = Number(key);
      if (pcr !== IMA_PCR && pcr !== modelPcr) governed.push({ bank, pcr, value });
    }
  }
  if (governed.length === 0 && ev.bootLog === undefined) return 'continue';
  a.v.appraise('boot');
  const disposition = a.policy!.disposition.boot;
  const next = a.nextLogState!;

  let analysis: BootLogAnalysis | null = null;
  const bootLog = ev.bootLog;
  if (bootLog !== undefined) {
    if (bootLog.blob !== undefined) {
      let bytes: Uint8Array;
      try {
        bytes = await decodeBlobAsync(bootLog.blob, MAX_BOOT_LOG_INFLATED);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        a.v.fail('boot', disposition, reason('event-log-invalid', `boot event log: ${err.message}`));
        return 'continue';
      }
      const actual = hash('sha256', bytes, 'hex');
      if (actual !== bootLog.digest) {
        a.v.fail('boot', disposition, reason('event-log-digest-mismatch', 'the boot event log does not hash to the digest sent with it', { expected: bootLog.digest, actual }));
        return 'continue';
      }
      try {
        analysis = await deps.bootLogs.analyse(bootLog.digest, bytes);
      } catch (err) {
        if (!(err instanceof EventLogParseError)) throw err;
        a.v.fail('boot', disposition, reason('event-log-invalid', `boot event log: ${err.message}`, { event: err.eventIndex }));
        return 'continue';
      }
      if (next.bootLogDigest !== bootLog.digest) await deps.store.putBootLog(a.deviceId, bootLog.digest, bytes);
    } else {
      analysis = deps.bootLogs.get(bootLog.digest) ?? null;
      if (analysis === null) {
        const stored = await deps.store.getBootLog(a.deviceId, bootLog.digest);
        if (stored !== null) {
          try {
            analysis = await deps.bootLogs.analyse(bootLog.digest, stored.data);
          } catch (err) {
            if (!(err instanceof EventLogParseError)) throw err;
          }
        }
      }
      if (analysis === null) {
        // Not appraisable now; the next challenge carries no digest, so the device sends the log in full.
        a.nextLogState = { ...next, bootLogDigest: null };
        a.v.fail('boot', 'none', reason('event-log-unknown', `the device named boot event log ${bootLog.digest} by digest, which this verifier does not hold`));
        return 'continue';
      }
    }
  }

  let ok = true;
  for (const { bank, pcr, value } of governed) {
    const replayed = analysis?.replay.get(bank);
    if (analysis !== null && replayed === undefined && analysis.banks.size > 0 && !analysis.banks.has(bank)) {
      a.v.fail('boot', 'none', reason('event-log-bank-missing', `the boot event log has no ${bank} digests to check the quoted ${bank} PCRs against`, { bank, pcr }));
      ok = false;
      continue;
    }
    const expected = replayed?.get(pcr);
    const expectedHex = expected ?? zero(bank);
    if (expectedHex !== value) {
      ok = false;
      a.v.fail(
        'boot',
        disposition,
        reason('event-log-mismatch', `${bank} PCR ${pcr} is not what the boot event log replays to${expected === undefined ? ' (the log never extends it)' : ''}: something was measured that the log does not show, or the log was altered`, {
          bank,
          pcr,
          expected: expectedHex,
          actual: value,
        }),
      );
    }
  }
  if (ok) {
    a.bootLog = analysis?.facts ?? null;
    a.nextLogState = { ...next, bootLogDigest: bootLog?.digest ?? null };
  }
  return 'continue';
}

function zero(bank: HashAlgorithm): string {
  return '00'.repeat(REPLAY_BANKS[bank]);
}
