/**
 * The quote of the floor: a TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE (TPM 2.0
 * Part 2 §10.12.12) over the selection the real verify benchmark's
 * challenges ask for (SHA-256 bank, PCRs 0-9, 13, 14), so 145 bytes like
 * the real quote, marshalled by the @vigil/tpm2-ts codec in the three runs
 * the fleet simulator uses (`../fleet/quote-runs.ts`): head and tail once
 * per device, only the fresh run — nonce and clock — per quote.
 *
 * The verifier side reads the head and the fresh run back through the same
 * codec to reach extraData: its place depends on the size of
 * qualifiedSigner, so even a verifier that only checks the nonce must parse
 * that far (the rest of the quote is covered by the signature).
 */
import { createHash, type KeyObject } from 'node:crypto';
import { marshal, Reader, TPM_ALG, TPM_GENERATED_VALUE, TPM_ST, TpmUnmarshalError, toTpmlPcrSelection } from '@vigil/tpm2-ts';
import { QUOTE_FRESH, QUOTE_HEAD, QUOTE_TAIL } from '../fleet/quote-runs.js';
import { ScratchWriter } from '../fleet/scratch-writer.js';

/** The PCRs the real challenges select (SHA-256 bank). */
export const QUOTED_PCRS: readonly number[] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14];
const FIRMWARE_VERSION = 0x2024_0101_0000_0001n;
/** Where quotes are marshalled (synchronously, one at a time). */
const SCRATCH = new ScratchWriter();

/** One device's quotes: the fixed runs made once, then a fresh run per nonce. */
export class FloorQuoter {
  readonly #head: Uint8Array;
  readonly #tail: Uint8Array;
  /** TPMS_CLOCK_INFO.clock at the first quote: a TPM that has been up a while. */
  readonly #clockBase = 1_000_000n;
  readonly #startedAt = Date.now();

  /** @param akPublic the AK: its Name (Part 1 §16: nameAlg ‖ digest, here over its SPKI) is the quote's qualifiedSigner. */
  constructor(akPublic: KeyObject) {
    const nameAlg = Buffer.alloc(2);
    nameAlg.writeUInt16BE(TPM_ALG.SHA256);
    const qualifiedSigner = Buffer.concat([nameAlg, createHash('sha256').update(akPublic.export({ type: 'spki', format: 'der' })).digest()]);
    this.#head = marshal(QUOTE_HEAD, { magic: TPM_GENERATED_VALUE, type: TPM_ST.ATTEST_QUOTE, qualifiedSigner });
    // The digest of the quoted PCR values: fixed while the PCRs do not move, as in a steady fleet.
    const pcrDigest = createHash('sha256').update(Buffer.alloc(32 * QUOTED_PCRS.length)).digest();
    this.#tail = marshal(QUOTE_TAIL, {
      firmwareVersion: FIRMWARE_VERSION,
      attested: { pcrSelect: toTpmlPcrSelection([{ hashAlg: TPM_ALG.SHA256, pcrs: QUOTED_PCRS }]), pcrDigest },
    });
  }

  /** The marshalled TPMS_ATTEST of a quote with `nonce` as extraData (a Buffer of its own). */
  quote(nonce: Uint8Array): Buffer {
    const w = SCRATCH.reset();
    w.bytes(this.#head);
    const clock = this.#clockBase + BigInt(Date.now() - this.#startedAt);
    QUOTE_FRESH.encode(w, { extraData: nonce, clockInfo: { clock, resetCount: 1, restartCount: 0, safe: true } });
    w.bytes(this.#tail);
    return w.finish();
  }
}

/**
 * The extraData of `attest` if it is a TPMS_ATTEST of a quote (magic
 * TPM_GENERATED_VALUE, type TPM_ST_ATTEST_QUOTE), else null. Reads only as
 * far as extraData's run and never past `attest`.
 */
export function quoteNonce(attest: Uint8Array): Uint8Array | null {
  try {
    const r = new Reader(attest);
    const head = QUOTE_HEAD.decode(r);
    if (head.magic !== TPM_GENERATED_VALUE || head.type !== TPM_ST.ATTEST_QUOTE) return null;
    return QUOTE_FRESH.decode(r).extraData;
  } catch (err) {
    if (err instanceof TpmUnmarshalError) return null;
    throw err;
  }
}
