import { sep } from 'node:path';
import type { AttestationChallenge, Evidence } from '@vigil/protocol';
import { buildEvidence, EvidenceError, type EvidenceReport, type EvidenceSession, ImaLogReader, ModelMeasurementLog } from '../attestation/index.js';
import type { AgentConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import type { Attester, TpmContext } from './attester.js';

/**
 * The daemon's attestation work done with `agent/src/attestation`: the
 * model measurement log (`STATE/model-log.json`, bound to the TPM's
 * resetCount) opened once on the daemon's stable TPM runner, and
 * `buildEvidence` with the configured boot event log and IMA list (an
 * `ImaLogReader` kept between challenges so IMA is read incrementally).
 */
export function createAttester(context: { readonly config: AgentConfig; readonly deviceId: string; readonly log: Logger }): Attester {
  const { config, log } = context;
  const ima = new ImaLogReader(config.imaLog);
  const session: EvidenceSession = {};
  let modelLog: ModelMeasurementLog | undefined;
  let lastBootLog: EvidenceReport['bootLog'] | undefined;
  let openFailure: string | undefined;

  const open = async (ctx: TpmContext): Promise<ModelMeasurementLog> => {
    try {
      modelLog ??= await ModelMeasurementLog.open(ctx.runner, config.state, {
        pcr: config.modelPcr,
        hashing: { concurrency: config.watch.hashConcurrency, allowSymlinks: config.watch.followSymlinks, readSize: HASH_READ_SIZE },
      });
      openFailure = undefined;
      return modelLog;
    } catch (err) {
      // Typically `model-pcr-mismatch`: something else extended the model PCR. Say it once; the verifier will see it too.
      if (openFailure !== (err as Error).message) log.error({ err: (err as Error).message, pcr: config.modelPcr }, 'the model measurement log cannot be used');
      openFailure = (err as Error).message;
      throw err;
    }
  };

  return {
    async measure(ctx, { files, wholeRoots }) {
      const modelsLog = await open(ctx);
      const failed: string[] = [];
      let added = 0;
      for (const batch of batches(files, wholeRoots)) {
        try {
          added += (await modelsLog.measureModels(batch.paths)).length;
        } catch (err) {
          if (!batch.whole) {
            failed.push(...batch.paths);
            log.warn({ path: batch.paths[0], err: (err as Error).message }, 'model file could not be measured');
            continue;
          }
          // A whole folder failed (one odd file in it): measure its files one by one to isolate the failure.
          for (const file of batch.files) {
            try {
              added += (await modelsLog.measureModels([file])).length;
            } catch (e) {
              failed.push(file);
              log.warn({ path: file, err: (e as Error).message }, 'model file could not be measured');
            }
          }
        }
      }
      return { failed, added };
    },

    async logged(ctx) {
      const modelsLog = await open(ctx);
      await modelsLog.followTpm();
      const latest = new Map<string, string>();
      for (const m of modelsLog.measurements()) latest.set(m.path, m.digest);
      return { resetCount: modelsLog.resetCount, pcr: modelsLog.pcr, latest };
    },

    async followRestart(ctx, since) {
      const modelsLog = await open(ctx);
      await modelsLog.followTpm();
      // Whoever noticed it first (this call, evidence, a measurement): the log started over after `since`.
      const at = modelsLog.restartedAt;
      return at !== undefined && at > since;
    },

    async evidence(ctx, challenge: AttestationChallenge): Promise<Evidence> {
      let modelsLog: ModelMeasurementLog | undefined;
      try {
        modelsLog = await open(ctx);
      } catch (err) {
        if (!(err instanceof EvidenceError)) throw err;
      }
      const built = await buildEvidence(challenge, { tpm: ctx.tpm, ak: ctx.keys.ak, bootLogPath: config.eventlog, imaLog: ima, modelLog: modelsLog, session });
      const r = built.report;
      if (r.bootLog !== lastBootLog && (r.bootLog === 'absent' || r.bootLog === 'too-large')) {
        log.warn({ path: config.eventlog, bootLog: r.bootLog }, r.bootLog === 'absent' ? 'no boot event log on this platform: evidence goes without one' : 'the boot event log is too large to send');
      }
      lastBootLog = r.bootLog;
      if (r.unallocatedBanks.length > 0) {
        log.warn({ challengeId: challenge.challengeId, banks: r.unallocatedBanks }, 'the challenge asks for PCR banks this TPM has not allocated: quoted the others (the verdict names the missing banks)');
      }
      log.debug({ challengeId: challenge.challengeId, ...r }, 'evidence built');
      return built.evidence;
    },
  };
}

interface Batch {
  readonly paths: readonly string[];
  /** True when `paths` is one configured folder measured whole (hashed in parallel). */
  readonly whole: boolean;
  readonly files: readonly string[];
}

/**
 * Groups changed files for measurement: a folder all of whose files changed
 * (the first measurement, or after a TPM reset) is measured whole, its files
 * hashed in parallel on the worker pool (`watch.hashConcurrency`); every
 * other changed file alone, so unchanged files are never read.
 */
function batches(files: readonly string[], wholeRoots: readonly string[]): Batch[] {
  const remaining = new Set(files);
  const out: Batch[] = [];
  for (const root of wholeRoots) {
    const prefix = root.endsWith(sep) ? root : root + sep;
    const under = files.filter((f) => f.startsWith(prefix));
    if (under.length === 0) continue;
    out.push({ paths: [root], whole: true, files: under });
    for (const f of under) remaining.delete(f);
  }
  for (const f of remaining) out.push({ paths: [f], whole: false, files: [f] });
  return out;
}

/**
 * 1 MiB reads for model hashing, not the evidence package's 8 MiB default:
 * each file being hashed holds two read buffers, which stay resident until
 * the next full GC, and an idle agent seldom collects (the start-up
 * measurement left ~16 MiB behind for minutes). At 1 MiB the per-read cost
 * is already negligible (sha256sum reads 32 KiB at a time).
 */
const HASH_READ_SIZE = 1 << 20;
