import { hash, timingSafeEqual } from 'node:crypto';
import type { PcrSelection as WirePcrSelection } from '@vigil/protocol/core';
import { formatPcrSelection, fromTpmlPcrSelection, hashAlgorithm, hashAlgorithmByName, sameSelection, type PcrSelection } from '@vigil/tpm2-ts';
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
 * Step 7, the reported PCR values are the quoted ones: the quote must cover
 * exactly the PCRs the challenge asked for, the evidence must report a value
 * for exactly those, and the hash of the values concatenated in the quote's
 * TPML_PCR_SELECTION order (banks as the quote lists them, indices
 * ascending), with the signature's hash, must equal the signed pcrDigest
 * (Part 3 §18.4). From here on the reported values are as good as signed.
 */
export function pcrDigestStep(a: Appraisal): StepResult {
  const quoted = fromTpmlPcrSelection(a.attest!.attested.pcrSelect);
  const asked = toTpmSelection(a.challenge!.pcrSelection);
  if (!sameSelection(quoted, asked)) {
    a.v.fail(
      'identity',
      'contraindicated',
      reason('pcr-selection-mismatch', `the quote covers ${formatPcrSelection(quoted) || 'no PCRs'}, the challenge asked for ${formatPcrSelection(asked)}`),
    );
    return 'stop';
  }
  const reported = a.evidence!.pcrs;
  const ordered: Buffer[] = [];
  let reportedCount = 0;
  for (const bank of Object.values(reported)) reportedCount += Object.keys(bank ?? {}).length;
  let quotedCount = 0;
  for (const s of quoted) {
    const name = hashAlgorithm(s.hashAlg)?.name;
    const values = name === undefined ? undefined : (reported as Record<string, Record<string, string> | undefined>)[name];
    for (const p of s.pcrs) {
      quotedCount++;
      const v = values?.[String(p)];
      if (v === undefined) {
        a.v.fail('identity', 'contraindicated', reason('pcr-selection-mismatch', `no value reported for quoted PCR ${name ?? s.hashAlg}:${p}`, { pcr: p }));
        return 'stop';
      }
      ordered.push(Buffer.from(v, 'hex'));
    }
  }
  if (reportedCount !== quotedCount) {
    a.v.fail('identity', 'contraindicated', reason('pcr-selection-mismatch', `${reportedCount} PCR values reported for ${quotedCount} quoted PCRs`));
    return 'stop';
  }
  const digest = hash(a.signatureHash!, Buffer.concat(ordered), 'buffer');
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
