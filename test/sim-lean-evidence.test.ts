/**
 * The load generator's cheaper evidence (bench/src/fleet): what it keeps
 * between quotes must not change a byte of what it sends. The quote is
 * marshalled in three runs of TPMS_ATTEST's fields (`quote-runs.ts`), only
 * the middle one per quote; the evidence JSON is assembled from text kept
 * per PCR state, boot log and model-log offset (`SimAttester.evidenceJson`).
 * Checked against the plain path (`marshal(TPMS_ATTEST, …)`,
 * `JSON.stringify(evidence(…))`) and against the verifier side of
 * @vigil/tpm2-ts (`checkQuote`): every quote is freshly signed over its own
 * nonce and the reported PCR values.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AttestationChallenge, Evidence, PcrSelection } from '@vigil/protocol';
import { checkQuote, marshal, pcrValuesFromJson, TPM2B_PUBLIC, TPM_ALG, TPMS_ATTEST, TPMT_SIGNATURE, unmarshal, type TpmsAttest } from '@vigil/tpm2-ts';
import { BootImage, modelRelease, SimAttester, SoftwareTpm, type SimBank } from '../bench/src/fleet/index.js';
import { QUOTE_FRESH, QUOTE_HEAD, QUOTE_TAIL } from '../bench/src/fleet/quote-runs.js';
import { ScratchWriter } from '../bench/src/fleet/scratch-writer.js';

const bootImage = BootImage.load();
const models = modelRelease();

const selectionArb: fc.Arbitrary<PcrSelection> = fc
  .record({
    sha1: fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 23 }), { minLength: 1, maxLength: 24 }), { nil: undefined }),
    sha256: fc.uniqueArray(fc.integer({ min: 0, max: 23 }), { minLength: 1, maxLength: 24 }),
    sha384: fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 23 }), { minLength: 1, maxLength: 24 }), { nil: undefined }),
  })
  .map((s) => Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) as PcrSelection);

let serial = 0;
function challenge(tpmSelection: PcrSelection, offsets: Partial<AttestationChallenge['offsets']> = {}): AttestationChallenge {
  return {
    v: 1,
    challengeId: `c-${serial++}`,
    nonce: randomBytes(32).toString('hex'),
    pcrSelection: tpmSelection,
    offsets: { imaEntries: 0, modelEntries: 0, ...offsets },
    expiresAt: Date.now() + 30_000,
  } as AttestationChallenge;
}

describe('TPMS_ATTEST in three runs', () => {
  it('head ‖ fresh ‖ tail is marshal(TPMS_ATTEST) for any quote (property)', () => {
    const tpm = new SoftwareTpm();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.nat(0xffff_ffff), fc.nat(0xffff_ffff), selectionArb, (nonce, clock, resetCount, restartCount, selection) => {
        const attest: TpmsAttest = { ...tpm.quoteAttest(nonce, selection, tpm.pcrValues(selection)), clockInfo: { clock, resetCount, restartCount, safe: true } };
        const runs = Buffer.concat([
          marshal(QUOTE_HEAD, { magic: attest.magic, type: attest.type, qualifiedSigner: attest.qualifiedSigner }),
          marshal(QUOTE_FRESH, { extraData: attest.extraData, clockInfo: attest.clockInfo }),
          marshal(QUOTE_TAIL, { firmwareVersion: attest.firmwareVersion, attested: attest.attested as never }),
        ]);
        expect(runs.equals(Buffer.from(marshal(TPMS_ATTEST, attest)))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('SoftwareTpm.quote is the plain quote of the same nonce and clock, and its signature verifies (property)', () => {
    const tpm = new SoftwareTpm();
    bootImage.replayInto(tpm);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), selectionArb, fc.integer({ min: 0, max: 23 }), fc.boolean(), (nonce, selection, pcr, extend) => {
        tpm.quote(nonce, selection); // what is kept for this selection
        // PCRs that move between quotes must show in the next one (the kept tail is per PCR state).
        if (extend) tpm.extend(pcr, { sha256: randomBytes(32), sha1: randomBytes(20), sha384: randomBytes(48) });
        const { attest, values } = tpm.quote(nonce, selection);
        // Read past every cache: PCR by PCR.
        const current = Object.fromEntries(Object.entries(selection).map(([bank, pcrs]) => [bank, Object.fromEntries((pcrs as number[]).map((p) => [String(p), Buffer.from(tpm.pcr(bank as SimBank, p)).toString('hex')]))]));
        expect(values).toEqual(current);
        const decoded = unmarshal(TPMS_ATTEST, attest);
        const plain = { ...tpm.quoteAttest(nonce, selection, values), clockInfo: decoded.clockInfo };
        expect(Buffer.from(marshal(TPMS_ATTEST, plain)).equals(attest)).toBe(true);
        const check = checkQuote({ akPublic: tpm.akPublic, attest, signature: tpm.signatureBytes(attest), nonce, pcrValues: pcrValuesFromJson(values) });
        expect(check.ok ? 'ok' : check.reason).toBe('ok');
      }),
      { numRuns: 60 },
    );
  });

  it('never reuses a signature: the same nonce twice gets two different quotes and ECDSA signatures', () => {
    const tpm = new SoftwareTpm();
    const nonce = randomBytes(32);
    const a = tpm.quote(nonce, { sha256: [0, 1] }).attest;
    const b = tpm.quote(nonce, { sha256: [0, 1] }).attest;
    expect(a.equals(b)).toBe(false); // the clock moved
    expect(Buffer.from(tpm.signatureBytes(a)).equals(Buffer.from(tpm.signatureBytes(a)))).toBe(false); // ECDSA's per-signature k
  });
});

describe('ScratchWriter', () => {
  it("marshals exactly as the codec's own Writer, reused structure after structure and grown past its capacity (property)", () => {
    const tpm = new SoftwareTpm();
    const rsa = new SoftwareTpm({ akKind: 'rsa' });
    const w = new ScratchWriter(16); // smaller than every structure below: each one grows it
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), selectionArb, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (nonce, selection, clock) => {
        const attest: TpmsAttest = { ...tpm.quoteAttest(nonce, selection, tpm.pcrValues(selection)), clockInfo: { clock, resetCount: 3, restartCount: 1, safe: false } };
        const sig = tpm.sign(randomBytes(20));
        const rsaSig = rsa.sign(randomBytes(20));
        // A sized structure (TPM2B_PUBLIC: its size slot filled in afterwards), then the rest, on the one writer.
        expect(w.marshal(TPM2B_PUBLIC, rsa.akPublic).equals(Buffer.from(marshal(TPM2B_PUBLIC, rsa.akPublic)))).toBe(true);
        expect(w.marshal(TPMS_ATTEST, attest).equals(Buffer.from(marshal(TPMS_ATTEST, attest)))).toBe(true);
        expect(w.marshal(TPMT_SIGNATURE, sig).equals(Buffer.from(marshal(TPMT_SIGNATURE, sig)))).toBe(true);
        expect(w.marshal(TPMT_SIGNATURE, rsaSig).equals(Buffer.from(marshal(TPMT_SIGNATURE, rsaSig)))).toBe(true);
        expect(w.marshal(QUOTE_FRESH, attest).length).toBe(2 + nonce.length + 17);
      }),
      { numRuns: 50 },
    );
  });

  it('hands out copies: marshalling the next structure does not change the bytes of the last', () => {
    const w = new ScratchWriter();
    const a = w.marshal(QUOTE_FRESH, { extraData: new Uint8Array(32).fill(0xaa), clockInfo: { clock: 1n, resetCount: 1, restartCount: 0, safe: true } });
    const copy = Buffer.from(a);
    w.marshal(QUOTE_FRESH, { extraData: new Uint8Array(32).fill(0x55), clockInfo: { clock: 2n, resetCount: 2, restartCount: 2, safe: false } });
    expect(a.equals(copy)).toBe(true);
  });
});

describe('SimAttester.evidenceJson', () => {
  /** Two attesters of one device (same AK, same boot), one answering the plain way, one the lean way. */
  function twins(): { plain: SimAttester; lean: SimAttester } {
    const tpm = new SoftwareTpm();
    const platform = { bootImage, models };
    return { plain: new SimAttester(tpm, platform), lean: new SimAttester(new SoftwareTpm({ state: tpm.toState() }), platform) };
  }

  /** `lean`'s text is `JSON.stringify` of `plain`'s evidence with lean's own quote and signature, which verify. */
  function expectSame(plain: SimAttester, lean: SimAttester, c: AttestationChallenge): Evidence {
    const text = lean.evidenceJson(c);
    const parsed = JSON.parse(text) as Evidence;
    const reference = plain.evidence(c);
    expect(text).toBe(JSON.stringify({ ...reference, quote: parsed.quote, signature: parsed.signature }));
    expect(lean.lastReport).toEqual(plain.lastReport);
    const check = checkQuote({
      akPublic: lean.tpm.akPublic,
      attest: Buffer.from(parsed.quote, 'base64'),
      signature: Buffer.from(parsed.signature, 'base64'),
      nonce: Buffer.from(c.nonce, 'hex'),
      pcrValues: pcrValuesFromJson(parsed.pcrs),
    });
    expect(check.ok ? 'ok' : check.reason).toBe('ok');
    return parsed;
  }

  it('is JSON.stringify(evidence) byte for byte through a device life: first evidence, by digest, every model offset, a reboot', () => {
    const { plain, lean } = twins();
    const selection: PcrSelection = { sha256: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14] };
    const first = expectSame(plain, lean, challenge(selection));
    expect(first.bootLog?.blob).toBeDefined(); // the server named no log yet: sent in full
    expect(first.modelLog).toMatchObject({ offset: 0, count: models.length });
    const byDigest = expectSame(plain, lean, challenge(selection, { bootLogDigest: bootImage.digest, modelEntries: models.length }));
    expect(byDigest.bootLog).toEqual({ digest: bootImage.digest });
    expect(byDigest.modelLog).toMatchObject({ offset: models.length, count: 0 });
    for (let offset = 0; offset <= models.length + 1; offset++) expectSame(plain, lean, challenge(selection, { bootLogDigest: bootImage.digest, modelEntries: offset }));
    // The same text twice from the kept parts, then a reboot: the boot log in full again, the model log from 0.
    expectSame(plain, lean, challenge(selection, { bootLogDigest: bootImage.digest, modelEntries: models.length }));
    plain.reboot();
    lean.reboot();
    const afterReboot = expectSame(plain, lean, challenge(selection, { bootLogDigest: bootImage.digest, modelEntries: models.length }));
    expect(afterReboot.bootLog?.blob).toBeDefined();
    expect(afterReboot.modelLog).toMatchObject({ offset: 0, count: models.length });
    expectSame(plain, lean, challenge({ sha1: [0, 7], sha256: [13] }, { bootLogDigest: bootImage.digest, modelEntries: 1 }));
  });

  it('follows a model measured after boot: the kept model log and PCR values are dropped', () => {
    const { plain, lean } = twins();
    const selection: PcrSelection = { sha256: [13] };
    expectSame(plain, lean, challenge(selection));
    const before = expectSame(plain, lean, challenge(selection, { bootLogDigest: bootImage.digest, modelEntries: 1 }));
    const extra = { path: '/opt/models/extra.onnx', digest: randomBytes(32).toString('hex') };
    plain.modelLog!.measure(plain.tpm, extra);
    lean.modelLog!.measure(lean.tpm, extra);
    const after = expectSame(plain, lean, challenge(selection, { bootLogDigest: bootImage.digest, modelEntries: 1 }));
    expect(after.modelLog?.count).toBe(models.length);
    expect(after.pcrs).not.toEqual(before.pcrs);
  });

  it('a device without a platform sends no logs, as the plain path', () => {
    const tpm = new SoftwareTpm();
    const plain = new SimAttester(tpm);
    const lean = new SimAttester(new SoftwareTpm({ state: tpm.toState() }));
    const e = expectSame(plain, lean, challenge({ sha256: [0, 1, 2] }));
    expect(e.bootLog).toBeUndefined();
    expect(e.modelLog).toBeUndefined();
    expect(unmarshal(TPMS_ATTEST, Buffer.from(e.quote, 'base64')).type).toBeGreaterThan(0);
    expect(Buffer.from(e.signature, 'base64').readUInt16BE(0)).toBe(TPM_ALG.ECDSA);
  });
});
