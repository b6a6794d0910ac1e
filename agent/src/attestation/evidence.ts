import type { AttestationChallenge, Evidence, ImaLogChunk, ModelLogChunk, PcrSelection as WireSelection } from '@vigil/protocol';
import { MAX_BOOT_LOG_BYTES, MAX_IMA_CHUNK_BYTES, MAX_MODEL_CHUNK_BYTES } from '@vigil/protocol';
import { hashAlgorithmByName, PcrNotAllocatedError, pcrValuesToJson, type CommandRunner, type LoadedKey, type PcrSelection } from '@vigil/tpm2-ts';
import { allocatedSelection } from '../tpm/allocated-selection.js';
import { quotePcrs, type QuoteEvidence } from '../tpm/quote.js';
import { blobBytes, packBlob } from './blob.js';
import { DEFAULT_BOOT_LOG_PATH, readBootLog } from './boot-log.js';
import { EvidenceError } from './errors.js';
import { DEFAULT_IMA_LOG_PATH, ImaLogReader } from './ima-log.js';
import type { ModelMeasurementLog } from './model-log.js';

export interface EvidenceSources {
  readonly tpm: CommandRunner;
  /** The enrolled AK, loaded. */
  readonly ak: LoadedKey;
  /** The firmware event log (default the Linux securityfs file); `null`: the platform has none. */
  readonly bootLogPath?: string | null;
  /** The binary IMA list (default the Linux securityfs file), or an `ImaLogReader` kept between calls; `null`: no IMA. */
  readonly imaLog?: string | ImaLogReader | null;
  /** The model measurement log; omitted: no model log is sent. */
  readonly modelLog?: ModelMeasurementLog;
  /**
   * Remembers the TPM boot of the last evidence built, so the first evidence
   * after a reboot sends every log from its start whatever offsets the
   * challenge names. Keep one per agent; optional (without it, offsets past
   * the end of a log are what tell).
   */
  readonly session?: EvidenceSession;
}

/** What an agent carries from one evidence to the next. */
export interface EvidenceSession {
  resetCount?: number;
}

/** What went into the evidence, for the agent's logs and status. */
export interface EvidenceReport {
  readonly resetCount: number;
  /** Banks the challenge asked for that this TPM has not allocated: left out of the quote, which the verifier reports. */
  readonly unallocatedBanks: readonly string[];
  /** `sent`: in full; `by-digest`: the server has it; `absent`: the platform has none; `too-large`: left out. */
  readonly bootLog: 'sent' | 'by-digest' | 'absent' | 'too-large';
  /** IMA entries sent (from `imaOffset`), or null without IMA. */
  readonly imaEntries: { readonly offset: number; readonly count: number; readonly total: number } | null;
  readonly modelEntries: { readonly offset: number; readonly count: number; readonly total: number } | null;
}

export interface BuiltEvidence {
  readonly evidence: Evidence;
  readonly report: EvidenceReport;
}

/** A selection as the protocol carries it, in tpm2-ts form. */
export function selectionOf(selection: WireSelection): PcrSelection[] {
  const out: PcrSelection[] = [];
  for (const [bank, pcrs] of Object.entries(selection)) {
    if (pcrs === undefined) continue;
    const alg = hashAlgorithmByName(bank);
    if (alg === undefined) throw new EvidenceError('bad-challenge', `the challenge names an unknown bank ${bank}`);
    out.push({ hashAlg: alg.alg, pcrs: [...pcrs].sort((a, b) => a - b) });
  }
  return out;
}

/** Raw IMA bytes per chunk: compressed they stay well within the protocol's 5 MiB. */
const MAX_IMA_RAW = 3 * MAX_IMA_CHUNK_BYTES;

/**
 * Answers a challenge: TPM2_Quote over the PCRs it selects with its nonce
 * (the PCR values read with it are checked against the quote's pcrDigest and
 * re-read if a PCR moved in between, see `quotePcrs`), then the logs, read
 * after the quote so they hold at least what it covers (the verifier matches
 * the prefix the quote covers):
 * - the boot event log in full, unless its SHA-256 is the one the server
 *   names in `offsets.bootLogDigest` (then by digest); absent is reported;
 * - IMA and model log entries from the challenge's offsets (from 0 when the
 *   TPM rebooted since the last evidence, the offset is past the log's end,
 *   or the model log started over after a TPM Restart in this boot);
 * - gzip where it pays.
 */
export async function buildEvidence(challenge: AttestationChallenge, sources: EvidenceSources): Promise<BuiltEvidence> {
  const selection = selectionOf(challenge.pcrSelection);
  const nonce = Buffer.from(challenge.nonce, 'hex');
  const modelLog = sources.modelLog;
  // A TPM reset, or a Restart that cleared the model PCR, starts the log over before it is sent against the quote.
  await modelLog?.followTpm();
  // The model log is read under its lock, after the quote: no measurement can slip between them unlogged.
  const run = async () => {
    const { quote, unallocatedBanks } = await quoteAllocated(sources.tpm, sources.ak, nonce, selection);
    const resetCount = quote.attest.clockInfo.resetCount;
    const rebooted = sources.session?.resetCount !== undefined && sources.session.resetCount !== resetCount;
    if (sources.session !== undefined) sources.session.resetCount = resetCount;

    const evidence: { -readonly [K in keyof Evidence]: Evidence[K] } = {
      v: 1,
      challengeId: challenge.challengeId,
      quote: Buffer.from(quote.message).toString('base64'),
      signature: Buffer.from(quote.signature).toString('base64'),
      pcrs: pcrValuesToJson(quote.pcrValues) as Evidence['pcrs'],
    };

    let bootLog: EvidenceReport['bootLog'] = 'absent';
    const bootPath = sources.bootLogPath === undefined ? DEFAULT_BOOT_LOG_PATH : sources.bootLogPath;
    const boot = bootPath === null ? undefined : await readBootLog(bootPath);
    if (boot !== undefined) {
      if (!rebooted && challenge.offsets.bootLogDigest === boot.digest) {
        evidence.bootLog = { digest: boot.digest };
        bootLog = 'by-digest';
      } else {
        const blob = packBlob(boot.bytes);
        if (blobBytes(blob) <= MAX_BOOT_LOG_BYTES) {
          evidence.bootLog = { digest: boot.digest, blob };
          bootLog = 'sent';
        } else {
          bootLog = 'too-large';
        }
      }
    }

    let imaEntries: EvidenceReport['imaEntries'] = null;
    const ima = sources.imaLog === undefined ? new ImaLogReader(DEFAULT_IMA_LOG_PATH) : typeof sources.imaLog === 'string' ? new ImaLogReader(sources.imaLog) : sources.imaLog;
    if (ima !== null) {
      const slice = await ima.read(rebooted ? 0 : challenge.offsets.imaEntries, MAX_IMA_RAW);
      if (slice !== undefined) {
        const chunk: ImaLogChunk = { format: 'ima-binary', offset: slice.offset, count: slice.count, blob: packBlob(slice.bytes) };
        if (blobBytes(chunk.blob) <= MAX_IMA_CHUNK_BYTES) {
          evidence.imaLog = chunk;
          imaEntries = { offset: slice.offset, count: slice.count, total: slice.total };
        }
      }
    }

    let modelEntries: EvidenceReport['modelEntries'] = null;
    if (modelLog !== undefined) {
      const asked = challenge.offsets.modelEntries;
      // After a TPM Restart started the log over, the server's offset may count entries of the log before: all of it, every time.
      const offset = rebooted || modelLog.restartedAt !== undefined || asked > modelLog.length ? 0 : asked;
      const { text, count } = modelLog.linesFrom(offset);
      const chunk: ModelLogChunk = { format: 'ima-ascii', offset, count, blob: packBlob(Buffer.from(text, 'utf8')) };
      if (blobBytes(chunk.blob) > MAX_MODEL_CHUNK_BYTES) throw new EvidenceError('log-unreadable', `the model log from entry ${offset} is larger than one message can carry`);
      evidence.modelLog = chunk;
      modelEntries = { offset, count, total: modelLog.length };
    }
    return { evidence, report: { resetCount, unallocatedBanks, bootLog, imaEntries, modelEntries } };
  };
  return modelLog === undefined ? run() : modelLog.exclusive(run);
}

/**
 * The quote over `selection`; if the TPM lacks a bank the challenge asked
 * for (a policy made on another platform), the quote over the banks it has,
 * so the device still answers and the verifier can name what is missing.
 * Checking the allocation only after a failure keeps it off the usual path.
 */
async function quoteAllocated(
  tpm: CommandRunner,
  ak: LoadedKey,
  nonce: Uint8Array,
  selection: readonly PcrSelection[],
): Promise<{ quote: QuoteEvidence; unallocatedBanks: readonly string[] }> {
  try {
    return { quote: await quotePcrs(tpm, ak, nonce, selection), unallocatedBanks: [] };
  } catch (err) {
    if (!(err instanceof PcrNotAllocatedError)) throw err;
  }
  const allocated = await allocatedSelection(tpm, selection);
  return { quote: await quotePcrs(tpm, ak, nonce, allocated.selection), unallocatedBanks: allocated.unallocated };
}
