/**
 * The device side of attestation for a simulated device, following the real
 * evidence builder (`agent/src/attestation/evidence.ts`) step for step: a
 * quote over the challenge's selection with its nonce and the PCR values it
 * covers; the boot event log in full on the first evidence of a boot, by
 * digest once the server names it in `offsets.bootLogDigest`; the model
 * measurement log from the server's offset (from 0 after a reboot).
 */
import { gzipSync } from 'node:zlib';
import type { AttestationChallenge, Blob, Evidence, PcrValues } from '@vigil/protocol';
import { marshal, TPMS_ATTEST, TPMT_SIGNATURE, type TpmsAttest } from '@vigil/tpm2-ts';
import type { BootImage } from './boot-image.js';
import { SimModelLog, type ModelFile } from './model-set.js';
import type { SoftwareTpm } from './software-tpm.js';

/** What a quote is made of, before a test bends it. */
export interface SimQuoteParts {
  attest: TpmsAttest;
  /** The PCR values reported beside the quote. */
  pcrs: PcrValues;
}

/** What the simulated platform measures at boot. */
export interface SimPlatform {
  /** The firmware's event log, replayed into the PCRs at every boot; none: PCRs 0-9 stay zero and no log is sent. */
  readonly bootImage?: BootImage;
  /** Model files measured into the model PCR at every boot; none: no model log is sent. */
  readonly models?: readonly ModelFile[];
}

/** What the evidence says about its logs (for counters in load generators). */
export interface SimEvidenceReport {
  readonly bootLog: 'sent' | 'by-digest' | 'absent';
  readonly modelEntries: number;
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Like the agent's `packBlob`: gzip when it saves at least a tenth. */
function packBlob(bytes: Buffer): Blob {
  if (bytes.length >= 256) {
    const gz = gzipSync(bytes, { level: 6 });
    if (gz.length < bytes.length * 0.9) return { encoding: 'gzip', data: gz.toString('base64') };
  }
  return { encoding: 'identity', data: bytes.toString('base64') };
}

/** Signs the (possibly bent) parts into the quote and signature fields of evidence. */
function quoteFields(tpm: SoftwareTpm, parts: SimQuoteParts): Pick<Evidence, 'quote' | 'signature' | 'pcrs'> {
  const attestBytes = marshal(TPMS_ATTEST, parts.attest);
  return { quote: b64(attestBytes), signature: b64(marshal(TPMT_SIGNATURE, tpm.sign(attestBytes))), pcrs: parts.pcrs };
}

/**
 * The evidence an honest device with no logs sends for `challenge`: a quote
 * of the TPM's PCRs as they are (all zero unless something extended them).
 * `bend` may change the quote's parts before they are marshalled and signed
 * (the clock, the extraData, the selection), so the result is still a
 * correctly signed quote of something else.
 */
export function simEvidence(tpm: SoftwareTpm, challenge: AttestationChallenge, bend?: (parts: SimQuoteParts) => void): Evidence {
  const pcrs = tpm.pcrValues(challenge.pcrSelection);
  const parts: SimQuoteParts = { attest: tpm.quoteAttest(Buffer.from(challenge.nonce, 'hex'), challenge.pcrSelection, pcrs), pcrs };
  bend?.(parts);
  return { v: 1, challengeId: challenge.challengeId, ...quoteFields(tpm, parts) };
}

/** What one evidence carries besides its quote, decided as the agent decides it. */
interface LogPlan {
  readonly bootLog: SimEvidenceReport['bootLog'];
  /** The model log's first entry, or undefined: no model log. */
  readonly modelOffset: number | undefined;
}

/**
 * A simulated device's attestation: its TPM, what its platform measured
 * at boot, and what the agent remembers between evidence (the boot the
 * last evidence was from).
 */
export class SimAttester {
  readonly modelLog: SimModelLog | undefined;
  #reportedResetCount: number | undefined;
  lastReport: SimEvidenceReport = { bootLog: 'absent', modelEntries: 0 };
  /** JSON text of the parts of evidence that do not depend on the challenge, made once (`evidenceJson`). */
  readonly #pcrsJson = new WeakMap<PcrValues, string>();
  #bootJson: { readonly byDigest: string; readonly full: string } | undefined;
  readonly #modelJson = new Map<number, { readonly json: string; readonly count: number }>();
  #modelJsonVersion = -1;

  constructor(
    readonly tpm: SoftwareTpm,
    readonly platform: SimPlatform = {},
  ) {
    this.modelLog = platform.models !== undefined ? new SimModelLog() : undefined;
    this.#powerOn();
  }

  /** A reboot: TPM Reset, then firmware and agent measure again. */
  reboot(): void {
    this.tpm.reboot();
    this.#powerOn();
  }

  /** The answer to `challenge`, as `buildEvidence` makes it. */
  evidence(challenge: AttestationChallenge, bend?: (parts: SimQuoteParts) => void): Evidence {
    const base = simEvidence(this.tpm, challenge, bend);
    const plan = this.#logPlan(challenge);
    const out: { -readonly [K in keyof Evidence]: Evidence[K] } = base;
    const image = this.platform.bootImage;
    if (image !== undefined && plan.bootLog !== 'absent') out.bootLog = plan.bootLog === 'by-digest' ? { digest: image.digest } : { digest: image.digest, blob: image.blob };
    let modelEntries = 0;
    if (this.modelLog !== undefined && plan.modelOffset !== undefined) {
      const { text, count } = this.modelLog.linesFrom(plan.modelOffset);
      out.modelLog = { format: 'ima-ascii', offset: plan.modelOffset, count, blob: packBlob(Buffer.from(text, 'utf8')) };
      modelEntries = count;
    }
    this.lastReport = { bootLog: plan.bootLog, modelEntries };
    return out;
  }

  /**
   * The same answer as `evidence(challenge)`, as the JSON text the device
   * publishes: `JSON.stringify(evidence(challenge))` byte for byte, but made
   * for load generators. The quote is fresh (its nonce, the clock) and
   * freshly signed every time; everything that does not depend on the
   * challenge is kept as text: the start and end of the quote
   * (`SoftwareTpm.quote`), the PCR values, the boot log in full and by
   * digest, the model log from each offset while the log does not change.
   */
  evidenceJson(challenge: AttestationChallenge): string {
    const { attest, values } = this.tpm.quote(Buffer.from(challenge.nonce, 'hex'), challenge.pcrSelection);
    const signature = this.tpm.signatureBytes(attest);
    const plan = this.#logPlan(challenge);
    let pcrs = this.#pcrsJson.get(values);
    if (pcrs === undefined) this.#pcrsJson.set(values, (pcrs = JSON.stringify(values)));
    // Key order as in `evidence`: v, challengeId, quote, signature, pcrs, bootLog, modelLog.
    let json = `{"v":1,"challengeId":${JSON.stringify(challenge.challengeId)},"quote":"${b64(attest)}","signature":"${b64(signature)}","pcrs":${pcrs}`;
    const image = this.platform.bootImage;
    if (image !== undefined && plan.bootLog !== 'absent') {
      this.#bootJson ??= { byDigest: JSON.stringify({ digest: image.digest }), full: JSON.stringify({ digest: image.digest, blob: image.blob }) };
      json += `,"bootLog":${plan.bootLog === 'by-digest' ? this.#bootJson.byDigest : this.#bootJson.full}`;
    }
    let modelEntries = 0;
    if (this.modelLog !== undefined && plan.modelOffset !== undefined) {
      const part = this.#modelLogJson(this.modelLog, plan.modelOffset);
      json += `,"modelLog":${part.json}`;
      modelEntries = part.count;
    }
    this.lastReport = { bootLog: plan.bootLog, modelEntries };
    return `${json}}`;
  }

  /** The boot log in full on the first evidence of a boot or when the server does not name it; the model log from the server's offset (from 0 after a reboot). */
  #logPlan(challenge: AttestationChallenge): LogPlan {
    const resetCount = this.tpm.clock.resetCount;
    const rebooted = this.#reportedResetCount !== undefined && this.#reportedResetCount !== resetCount;
    this.#reportedResetCount = resetCount;
    const image = this.platform.bootImage;
    const bootLog = image === undefined ? 'absent' : !rebooted && challenge.offsets.bootLogDigest === image.digest ? 'by-digest' : 'sent';
    if (this.modelLog === undefined) return { bootLog, modelOffset: undefined };
    const asked = challenge.offsets.modelEntries;
    return { bootLog, modelOffset: rebooted || asked > this.modelLog.length ? 0 : asked };
  }

  #modelLogJson(log: SimModelLog, offset: number): { readonly json: string; readonly count: number } {
    if (this.#modelJsonVersion !== log.version) {
      this.#modelJson.clear();
      this.#modelJsonVersion = log.version;
    }
    let part = this.#modelJson.get(offset);
    if (part === undefined) {
      const { text, count } = log.linesFrom(offset);
      part = { json: JSON.stringify({ format: 'ima-ascii', offset, count, blob: packBlob(Buffer.from(text, 'utf8')) }), count };
      this.#modelJson.set(offset, part);
    }
    return part;
  }

  #powerOn(): void {
    this.platform.bootImage?.replayInto(this.tpm);
    this.modelLog?.clear();
    for (const file of this.platform.models ?? []) this.modelLog!.measure(this.tpm, file);
  }
}
