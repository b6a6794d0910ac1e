import { hash, timingSafeEqual } from 'node:crypto';
import type { PcrSelection as WirePcrSelection } from '@vigil/protocol/core';
import { formatPcrSelection, fromTpmlPcrSelection, hashAlgorithm, hashAlgorithmByName, type PcrSelection } from '@vigil/tpm2-ts';
import { reason } from '../../../policy/appraise/reason.js';
import type { Appraisal, StepResult } from '../appraisal.js';

/** A selection as the protocol carries it (`{ sha256: [0, 7] }`) in tpm2-ts form. */
export function toTpmSelection(selection: WirePcrSelection): PcrSelection[] {
  const out: PcrSelection[] = [];
  for (const [bank, pcrs] of Object.entries(selection)) {
    const alg = hashAlgorithmByName(bank);
    if (alg !== undefined && pcrs !== undefined) out.push({ hashAlg: alg.alg, pcrs: [...pcrs].sort((x, y) => x - y) });
  }
  return out;
}

/**
 * Step 7, the reported PCR values are the quoted ones: each bank the quote
 * covers must be one the challenge asked for, with exactly the PCRs asked,
 * the evidence must report a value for exactly those, and the hash of the
 * values concatenated in the quote's TPML_PCR_SELECTION order (banks as the
 * quote lists them, indices ascending), with the signature's hash, must
 * equal the signed pcrDigest (Part 3 §18.4). From here on the reported
 * values are as good as signed.
 *
 * A bank asked for may be missing as a whole: the device's TPM has not
 * allocated it, and the agent quotes the banks it has rather than not
 * answer. That is not an identity failure (the quote is genuine); the policy
 * step names every bank the policy needs and the quote lacks
 * (`pcr-bank-unavailable`), so nothing it would have checked passes unseen.
 */
export function pcrDigestStep(a: Appraisal): StepResult {
  const quoted = fromTpmlPcrSelection(a.attest!.attested.pcrSelect);
  const asked = a.challenge!.pcrSelection;
  const reported = a.evidence!.pcrs as Readonly<Record<string, Readonly<Record<string, string>> | undefined>>;
  // The values as hex, decoded once together (each is schema-checked hex of its bank's digest size).
  const ordered: string[] = [];
  let quotedCount = 0;
  let selectionOk = true;
  const quotedBanks = new Set<number>();
  for (const s of quoted) {
    if (s.pcrs.length === 0) continue; // a bank listed with nothing selected
    const name = hashAlgorithm(s.hashAlg)?.name;
    const wanted = name === undefined ? undefined : (asked as Readonly<Record<string, readonly number[] | undefined>>)[name];
    // Same PCRs as asked, in this bank (both lists are duplicate-free; the quote's is ascending), each bank once.
    if (wanted === undefined || wanted.length !== s.pcrs.length || !s.pcrs.every((p) => wanted.includes(p)) || quotedBanks.has(s.hashAlg)) selectionOk = false;
    quotedBanks.add(s.hashAlg);
    const values = name === undefined ? undefined : reported[name];
    for (const p of s.pcrs) {
      quotedCount++;
      const v = values?.[String(p)];
      if (v === undefined) {
        if (!selectionOk) break;
        a.v.fail('identity', 'contraindicated', reason('pcr-selection-mismatch', `no value reported for quoted PCR ${name ?? s.hashAlg}:${p}`, { pcr: p }));
        return 'stop';
      }
      ordered.push(v);
    }
  }
  if (!selectionOk) {
    const wanted = toTpmSelection(asked);
    a.v.fail(
      'identity',
      'contraindicated',
      reason('pcr-selection-mismatch', `the quote covers ${formatPcrSelection(quoted) || 'no PCRs'}, the challenge asked for ${formatPcrSelection(wanted)}`),
    );
    return 'stop';
  }
  let reportedCount = 0;
  for (const bank of Object.values(reported)) if (bank !== undefined) reportedCount += Object.keys(bank).length;
  if (reportedCount !== quotedCount) {
    a.v.fail('identity', 'contraindicated', reason('pcr-selection-mismatch', `${reportedCount} PCR values reported for ${quotedCount} quoted PCRs`));
    return 'stop';
  }
  const digest = hash(a.signatureHash!, Buffer.from(ordered.join(''), 'hex'), 'buffer');
  const signed = a.attest!.attested.pcrDigest;
  if (digest.length !== signed.length || !timingSafeEqual(digest, signed)) {
    a.v.fail(
      'identity',
      'contraindicated',
      reason('pcr-digest-mismatch', 'the reported PCR values are not the ones the quote signed', {
        expected: Buffer.from(signed).toString('hex'),
        actual: digest.toString('hex'),
      }),
    );
    return 'stop';
  }
  return 'continue';
}
