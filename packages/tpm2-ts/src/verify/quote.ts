import { hash, timingSafeEqual } from 'node:crypto';
import { unmarshal } from '../codec/codec.js';
import { TpmUnmarshalError } from '../codec/errors.js';
import { TpmPublicKeyError } from '../crypto/public-key.js';
import { fromTpmlPcrSelection, type PcrSelection, type PcrValues, formatPcrSelection } from '../pcrs/selection.js';
import type { TpmsAttest, TpmsAttestQuote } from '../structures/attest.js';
import { TPMT_SIGNATURE, type TpmtSignature } from '../structures/signature.js';
import type { HashAlgorithm } from '../constants/alg.js';
import { parseQuoteAttest, TpmAttestError } from './attest.js';
import { sameSelection } from './pcr-values.js';
import { verifyTpmSignature } from './signature.js';
import { type AkPublic, verificationKey } from './verification-key.js';

/**
 * Why a quote was rejected; one reason per check, in the order they run:
 * the attestation's header and body, the nonce, the signature, the PCRs.
 */
export type QuoteFailureReason =
  | 'malformed'
  | 'bad-magic'
  | 'not-a-quote'
  | 'nonce-mismatch'
  | 'malformed-signature'
  | 'unsupported-signature'
  | 'signature-key-mismatch'
  | 'bad-signature'
  | 'pcr-selection-mismatch'
  | 'pcr-digest-mismatch'
  | 'bad-key';

export interface CheckQuoteInput {
  /** The AK: prepared (`verificationKey`), a KeyObject, a TPMT_PUBLIC, or bytes (PEM, DER, TPM2B_PUBLIC, TPMT_PUBLIC). */
  readonly akPublic: AkPublic;
  /** The TPMS_ATTEST exactly as the TPM signed it (TPM2B_ATTEST contents, tpm2_quote's `-m` file). */
  readonly attest: Uint8Array;
  /** TPMT_SIGNATURE, marshalled (tpm2_quote's `-s` file) or decoded. */
  readonly signature: Uint8Array | TpmtSignature;
  /** The verifier's nonce; the quote's extraData must equal it. Omit only when freshness is checked elsewhere. */
  readonly nonce?: Uint8Array;
  /** Reported PCR values: they must cover exactly the quoted PCRs and hash to the quote's pcrDigest. */
  readonly pcrValues?: PcrValues;
  /** The PCRs the verifier asked for; the quote must cover exactly these. */
  readonly pcrSelection?: readonly PcrSelection[];
}

export interface QuoteAccepted {
  readonly ok: true;
  readonly attest: TpmsAttestQuote;
  readonly signature: TpmtSignature;
  /** The hash of the signature scheme, which is also the hash of pcrDigest (Part 3 §18.4). */
  readonly hash: HashAlgorithm;
  /** The PCRs the quote covers, in the quote's order. */
  readonly pcrSelection: PcrSelection[];
  /** Which optional checks ran: a quote accepted without a nonce is not fresh, without values says nothing about PCR contents. */
  readonly checked: { readonly nonce: boolean; readonly pcrValues: boolean; readonly pcrSelection: boolean };
}

export interface QuoteRejected {
  readonly ok: false;
  readonly reason: QuoteFailureReason;
  readonly message: string;
  /** The decoded attestation when it got that far (for logs: clock, resetCount, firmware). Unauthenticated unless the reason comes after the signature check. */
  readonly attest?: TpmsAttest;
}

export type QuoteCheck = QuoteAccepted | QuoteRejected;

function reject(reason: QuoteFailureReason, message: string, attest?: TpmsAttest): QuoteRejected {
  return attest ? { ok: false, reason, message, attest } : { ok: false, reason, message };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * Checks a TPM2_Quote end to end (Part 3 §18.4), in the verifier
 * pipeline's order, stopping at the first failure with its named reason:
 *
 *  1. TPMS_ATTEST magic is TPM_GENERATED_VALUE ('bad-magic'), type is
 *     TPM_ST_ATTEST_QUOTE ('not-a-quote'), the body decodes ('malformed');
 *  2. extraData equals the nonce ('nonce-mismatch');
 *  3. the signature decodes ('malformed-signature'), is a scheme a public key
 *     can check and fits the AK ('unsupported-signature',
 *     'signature-key-mismatch'), and verifies over the attestation bytes
 *     ('bad-signature');
 *  4. the quote covers exactly the PCRs asked for and the values reported
 *     ('pcr-selection-mismatch'), and pcrDigest equals the hash of those
 *     values concatenated in the quote's selection order, with the
 *     signature's hash ('pcr-digest-mismatch').
 *
 * Never throws for bad evidence; an unusable AK is 'bad-key'. The AK is
 * converted once and memoised (see `verificationKey`), and the attestation
 * is verified as the bytes given, never re-marshalled.
 */
export function checkQuote(input: CheckQuoteInput): QuoteCheck {
  let attest: TpmsAttestQuote;
  try {
    attest = parseQuoteAttest(input.attest);
  } catch (e) {
    if (e instanceof TpmAttestError) return reject(e.reason, e.message);
    throw e;
  }

  if (input.nonce && !equalBytes(attest.extraData, input.nonce)) {
    return reject('nonce-mismatch', `extraData ${hex(attest.extraData) || '(empty)'} is not the nonce ${hex(input.nonce)}`, attest);
  }

  let signature: TpmtSignature;
  if (input.signature instanceof Uint8Array) {
    try {
      signature = unmarshal(TPMT_SIGNATURE, input.signature);
    } catch (e) {
      if (e instanceof TpmUnmarshalError) return reject('malformed-signature', `TPMT_SIGNATURE: ${e.message}`, attest);
      throw e;
    }
  } else {
    signature = input.signature;
  }

  let key;
  try {
    key = verificationKey(input.akPublic);
  } catch (e) {
    if (e instanceof TpmPublicKeyError) return reject('bad-key', e.message, attest);
    throw e;
  }
  const sig = verifyTpmSignature(key, input.attest, signature);
  if (!sig.ok) return reject(sig.reason, sig.message, attest);

  const quoted = fromTpmlPcrSelection(attest.attested.pcrSelect);
  if (input.pcrSelection && !sameSelection(quoted, input.pcrSelection)) {
    return reject('pcr-selection-mismatch', `the quote covers ${formatPcrSelection(quoted) || 'no PCRs'}, not the requested ${formatPcrSelection(input.pcrSelection)}`, attest);
  }
  if (input.pcrValues) {
    const reported = [...input.pcrValues].map(([hashAlg, bank]) => ({ hashAlg, pcrs: [...bank.keys()] }));
    if (!sameSelection(quoted, reported)) {
      return reject('pcr-selection-mismatch', `the PCR values given cover ${formatPcrSelection(reported) || 'no PCRs'}, the quote ${formatPcrSelection(quoted) || 'no PCRs'}`, attest);
    }
    // Banks in the quote's TPML order, indices ascending: the order the TPM concatenated them in.
    const ordered: Uint8Array[] = [];
    for (const s of quoted) {
      const bank = input.pcrValues.get(s.hashAlg)!;
      for (const p of s.pcrs) ordered.push(bank.get(p)!);
    }
    // One-shot hash of the concatenation: on this hot path it costs less than a streaming Hash object (pcrValuesDigest).
    const digest = new Uint8Array(hash(sig.hash.nodeName, Buffer.concat(ordered), 'buffer'));
    if (!equalBytes(digest, attest.attested.pcrDigest)) {
      return reject(
        'pcr-digest-mismatch',
        `the PCR values hash to ${hex(digest)} (${sig.hash.name}), the quote's pcrDigest is ${hex(attest.attested.pcrDigest)}`,
        attest,
      );
    }
  }

  return {
    ok: true,
    attest,
    signature,
    hash: sig.hash,
    pcrSelection: quoted,
    checked: { nonce: input.nonce !== undefined, pcrValues: input.pcrValues !== undefined, pcrSelection: input.pcrSelection !== undefined },
  };
}
