/**
 * A TPM in software, for simulated devices: an attestation key shaped like
 * the TCG AK templates (RSA-2048 RSASSA-SHA256 or ECC P-256 ECDSA-SHA256,
 * restricted signing), an endorsement key (ECC P-256, template L-2) whose
 * private part lets the device answer the registrar's MakeCredential, PCR
 * banks that only move by extension, and a TPM clock that advances with
 * time and counts resets (TPMS_CLOCK_INFO, Part 2 §10.11.1).
 *
 * What it emits is byte for byte what a TPM emits: a TPMS_ATTEST of type
 * TPM_ST_ATTEST_QUOTE marshalled by @vigil/tpm2-ts and a TPMT_SIGNATURE by
 * the AK over exactly those bytes. What it is not: a TPM. Its keys live in
 * process memory, so devices built on it are labelled "simulated" wherever
 * a figure is reported.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { PcrSelection, PcrValues } from '@vigil/protocol';
import {
  AK_TEMPLATE_ECC,
  AK_TEMPLATE_RSA,
  EK_TEMPLATE_ECC_P256,
  marshal,
  objectName,
  TPM2B_PUBLIC,
  TPMT_SIGNATURE,
  TPM_ALG,
  TPM_GENERATED_VALUE,
  TPM_ST,
  toTpmlPcrSelection,
  type PcrSelection as TpmPcrSelection,
  type TpmsAttest,
  type TpmtPublic,
  type TpmtSignature,
} from '@vigil/tpm2-ts';
import { QUOTE_FRESH, QUOTE_HEAD, QUOTE_TAIL } from './quote-runs.js';
import { ScratchWriter } from './scratch-writer.js';

export type SimAkKind = 'ecc' | 'rsa';

/** TPMS_CLOCK_INFO as a simulated TPM keeps it (Part 2 §10.11.1). */
export interface SimClock {
  clock: bigint;
  resetCount: number;
  restartCount: number;
}

/** The PCR banks a simulated TPM allocates, and their digest sizes. */
export const SIM_BANKS = { sha1: 20, sha256: 32, sha384: 48 } as const;
export type SimBank = keyof typeof SIM_BANKS;
const BANK_ALG: Readonly<Record<SimBank, number>> = { sha1: TPM_ALG.SHA1, sha256: TPM_ALG.SHA256, sha384: TPM_ALG.SHA384 };
const PCR_COUNT = 24;
/** Where quotes and signatures are marshalled (synchronously, one at a time). */
const SCRATCH = new ScratchWriter();

/** TPMS_ATTEST.firmwareVersion of every simulated TPM. */
const FIRMWARE_VERSION = 0x2024_0101_0000_0001n;

/** What a quote over one selection keeps between quotes while the PCRs do not move. */
interface QuotePlan {
  /** `#pcrVersion` it was made at. */
  readonly version: number;
  readonly values: PcrValues;
  /** QUOTE_TAIL marshalled: firmwareVersion and the TPMS_QUOTE_INFO. */
  readonly tail: Uint8Array;
}

/** What a simulated TPM is made of, as text: how a device crosses into a load-generator process. */
export interface SoftwareTpmState {
  readonly akKind: SimAkKind;
  /** PKCS#8 PEM. */
  readonly akPrivatePem: string;
  readonly ekPrivatePem: string;
  /** SubjectPublicKeyInfo DER, base64: the public parts without parsing the private keys. */
  readonly akSpki: string;
  readonly ekSpki: string;
  readonly resetCount: number;
}

/**
 * A private key held as PKCS#8 PEM and made a KeyObject only when first
 * used. Importing a PKCS#8 key costs ~0.9 ms of CPU here, twice what
 * generating it does: registering 10,000 simulated devices spent most of
 * its time importing keys that the registering process never signs with
 * (the load-generator processes do, from `toState()`).
 */
class LazyPrivateKey {
  #key: KeyObject | undefined;

  constructor(readonly pem: string) {}

  get key(): KeyObject {
    return (this.#key ??= createPrivateKey(this.pem));
  }
}

/**
 * A fresh key pair as bytes, the generation job handing over encodings,
 * never KeyObjects: in Node 20 exporting a KeyObject made by the job can
 * deadlock with the garbage collector (`generateKeyPair` in @vigil/tpm2-ts,
 * crypto/key-pair.ts).
 */
function freshKeyPair(kind: SimAkKind): { readonly spki: Buffer; readonly pkcs8Pem: string } {
  const pair =
    kind === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
      : generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  return { spki: pair.publicKey, pkcs8Pem: pair.privateKey };
}

function spkiKey(spki: Buffer): KeyObject {
  return createPublicKey({ key: spki, format: 'der', type: 'spki' });
}

export interface SoftwareTpmOptions {
  /** Default `ecc`: signing an RSA-2048 quote costs a load generator ~0.6 ms of CPU, an ECDSA one ~0.03 ms. */
  readonly akKind?: SimAkKind;
  /** Recreate a TPM from `toState()` (same keys, so the same enrolled identity). */
  readonly state?: SoftwareTpmState;
}

function b64u(s: string | undefined): Uint8Array {
  return new Uint8Array(Buffer.from(s ?? '', 'base64url'));
}

function akPublicOf(kind: SimAkKind, publicKey: KeyObject): TpmtPublic {
  const jwk = publicKey.export({ format: 'jwk' });
  // unique holds the public key itself: RSA's modulus, ECC's point (Part 2 §12.2.3.2).
  return kind === 'rsa' ? { ...AK_TEMPLATE_RSA, unique: b64u(jwk.n) } : { ...AK_TEMPLATE_ECC, unique: { x: b64u(jwk.x), y: b64u(jwk.y) } };
}

function ekPublicOf(publicKey: KeyObject): TpmtPublic {
  const jwk = publicKey.export({ format: 'jwk' });
  return { ...EK_TEMPLATE_ECC_P256, unique: { x: b64u(jwk.x), y: b64u(jwk.y) } };
}

/**
 * A software TPM. PCRs start at zero (as after TPM2_Startup(CLEAR)) and
 * change only through `extend`; `reboot` is a TPM Reset: resetCount up,
 * restartCount and the clock from zero, every PCR back to zero.
 */
export class SoftwareTpm {
  readonly akKind: SimAkKind;
  readonly akPublic: TpmtPublic;
  readonly ekPublic: TpmtPublic;
  readonly #akPrivate: LazyPrivateKey;
  readonly #ekPrivate: LazyPrivateKey;
  readonly #akSpki: Buffer;
  readonly #ekSpki: Buffer;
  readonly clock: SimClock;
  #clockBase: bigint;
  #poweredAt = Date.now();
  #lastClock = 0n;
  readonly #pcrs = new Map<SimBank, Uint8Array[]>();
  #akName: Uint8Array | undefined;
  /** Bumped by every extend and reset: what tells a cached quote plan it is stale. */
  #pcrVersion = 0;
  readonly #plans = new Map<string, QuotePlan>();
  #lastPlan: { readonly selection: PcrSelection; readonly plan: QuotePlan } | undefined;
  /** QUOTE_HEAD marshalled (magic, type, this AK's Name). */
  #quoteHead: Uint8Array | undefined;

  constructor(options: SoftwareTpmOptions = {}) {
    const state = options.state;
    this.akKind = state?.akKind ?? options.akKind ?? 'ecc';
    if (state !== undefined) {
      this.#akPrivate = new LazyPrivateKey(state.akPrivatePem);
      this.#ekPrivate = new LazyPrivateKey(state.ekPrivatePem);
      this.#akSpki = Buffer.from(state.akSpki, 'base64');
      this.#ekSpki = Buffer.from(state.ekSpki, 'base64');
    } else {
      const ak = freshKeyPair(this.akKind);
      const ek = freshKeyPair('ecc');
      this.#akPrivate = new LazyPrivateKey(ak.pkcs8Pem);
      this.#ekPrivate = new LazyPrivateKey(ek.pkcs8Pem);
      this.#akSpki = ak.spki;
      this.#ekSpki = ek.spki;
    }
    this.akPublic = akPublicOf(this.akKind, spkiKey(this.#akSpki));
    this.ekPublic = ekPublicOf(spkiKey(this.#ekSpki));
    // A TPM that has been running a while: quotes carry a clock well past zero.
    this.#clockBase = 1_000_000n;
    this.clock = { clock: this.#clockBase, resetCount: state?.resetCount ?? 1, restartCount: 0 };
    this.#resetPcrs();
  }

  /** The keys and boot count, to recreate this TPM elsewhere (another process). Contains private keys. */
  toState(): SoftwareTpmState {
    return {
      akKind: this.akKind,
      akPrivatePem: this.#akPrivate.pem,
      ekPrivatePem: this.#ekPrivate.pem,
      akSpki: this.#akSpki.toString('base64'),
      ekSpki: this.#ekSpki.toString('base64'),
      resetCount: this.clock.resetCount,
    };
  }

  /** TPM2B_PUBLIC bytes of the AK, as enrollment records it. */
  get akPublicBytes(): Uint8Array {
    return marshal(TPM2B_PUBLIC, this.akPublic);
  }

  get ekPublicBytes(): Uint8Array {
    return marshal(TPM2B_PUBLIC, this.ekPublic);
  }

  /** The AK's Name (nameAlg ‖ H(TPMT_PUBLIC), Part 1 §16), hex. */
  get akNameHex(): string {
    return Buffer.from(this.akName).toString('hex');
  }

  /** The AK's Name, bytes: TPMS_ATTEST.qualifiedSigner of its quotes. */
  get akName(): Uint8Array {
    return (this.#akName ??= objectName(this.akPublic));
  }

  /** The EK's private key: only the device-side credential activation uses it (`activateCredential`). */
  get ekPrivateKey(): KeyObject {
    return this.#ekPrivate.key;
  }

  /** PCR_Extend (Part 3 §22.2): value = H(value ‖ digest), per bank given. */
  extend(pcr: number, digests: Partial<Readonly<Record<SimBank, Uint8Array>>>): void {
    for (const [bank, digest] of Object.entries(digests) as Array<[SimBank, Uint8Array]>) {
      const values = this.#pcrs.get(bank);
      if (values === undefined || digest.length !== SIM_BANKS[bank]) throw new RangeError(`cannot extend ${bank}:${pcr} with ${digest.length} bytes`);
      values[pcr] = new Uint8Array(createHash(bank).update(values[pcr]!).update(digest).digest());
    }
    this.#pcrVersion++;
  }

  /** The current value of one PCR. */
  pcr(bank: SimBank, index: number): Uint8Array {
    return this.#pcrs.get(bank)![index]!;
  }

  /** Values of the PCRs a challenge selects, as evidence reports them (hex, by bank and index). */
  pcrValues(selection: PcrSelection): PcrValues {
    return this.#plan(selection).values;
  }

  /**
   * The same selection between two extends gets the same values, digest and
   * marshalled tail (a fleet is quoted over one selection, again and again):
   * the returned objects are shared, not copies.
   */
  #plan(selection: PcrSelection): QuotePlan {
    // The selection of the last quote, compared in place: cheaper than its JSON key.
    const last = this.#lastPlan;
    if (last !== undefined && last.plan.version === this.#pcrVersion && sameSelection(last.selection, selection)) return last.plan;
    const plan = this.#planByKey(selection);
    // A copy: the caller's object (a decoded challenge) is not ours to watch.
    this.#lastPlan = { selection: Object.fromEntries(Object.entries(selection).map(([bank, pcrs]) => [bank, pcrs === undefined ? pcrs : [...(pcrs as number[])]])) as PcrSelection, plan };
    return plan;
  }

  #planByKey(selection: PcrSelection): QuotePlan {
    const key = JSON.stringify(selection);
    const cached = this.#plans.get(key);
    if (cached !== undefined && cached.version === this.#pcrVersion) return cached;
    const values = this.#readValues(selection);
    const tpmSelection = toTpmSelection(selection);
    const pcrDigest = quotedDigest(tpmSelection, values);
    const tail = marshal(QUOTE_TAIL, { firmwareVersion: FIRMWARE_VERSION, attested: { pcrSelect: toTpmlPcrSelection(tpmSelection), pcrDigest } });
    const plan: QuotePlan = { version: this.#pcrVersion, values, tail };
    if (this.#plans.size > 8) this.#plans.clear();
    this.#plans.set(key, plan);
    return plan;
  }

  #readValues(selection: PcrSelection): PcrValues {
    const out: Record<string, Record<string, string>> = {};
    for (const [bank, pcrs] of Object.entries(selection) as Array<[string, readonly number[] | undefined]>) {
      if (pcrs === undefined) continue;
      const values = this.#pcrs.get(bank as SimBank);
      const size = SIM_BANKS[bank as SimBank] ?? 32;
      out[bank] = Object.fromEntries(pcrs.map((p) => [String(p), Buffer.from(values?.[p] ?? new Uint8Array(size)).toString('hex')]));
    }
    return out as PcrValues;
  }

  /** Advances the TPM clock to now (milliseconds since power-on, never backwards) and returns it. */
  tick(): SimClock {
    const now = this.#clockBase + BigInt(Math.max(0, Date.now() - this.#poweredAt));
    // Two quotes in the same millisecond still see the clock move.
    this.#lastClock = now > this.#lastClock ? now : this.#lastClock + 1n;
    this.clock.clock = this.#lastClock;
    return this.clock;
  }

  /**
   * TPMS_ATTEST of a quote over `values` (banks in `selection` order, indices
   * ascending) with `nonce` as extraData (Part 3 §18.4): pcrDigest is the
   * SHA-256 (the AK scheme's hash) of the selected values concatenated.
   */
  quoteAttest(nonce: Uint8Array, selection: PcrSelection, values: PcrValues): TpmsAttest {
    const clock = this.tick();
    const tpmSelection = toTpmSelection(selection);
    return {
      magic: TPM_GENERATED_VALUE,
      type: TPM_ST.ATTEST_QUOTE,
      qualifiedSigner: this.akName,
      extraData: nonce,
      clockInfo: { clock: clock.clock, resetCount: clock.resetCount, restartCount: clock.restartCount, safe: true },
      firmwareVersion: FIRMWARE_VERSION,
      attested: { pcrSelect: toTpmlPcrSelection(tpmSelection), pcrDigest: quotedDigest(tpmSelection, values) },
    };
  }

  /**
   * A quote of the PCRs as they are, marshalled: byte for byte
   * `marshal(TPMS_ATTEST, quoteAttest(nonce, selection, pcrValues(selection)))`,
   * but only the nonce and the clock are marshalled per quote (`quote-runs.ts`);
   * the rest is kept while the selected PCRs do not move. For load
   * generators; a test that bends a quote uses `quoteAttest`.
   */
  quote(nonce: Uint8Array, selection: PcrSelection): { readonly attest: Buffer; readonly values: PcrValues } {
    const plan = this.#plan(selection);
    const clock = this.tick();
    this.#quoteHead ??= marshal(QUOTE_HEAD, { magic: TPM_GENERATED_VALUE, type: TPM_ST.ATTEST_QUOTE, qualifiedSigner: this.akName });
    const w = SCRATCH.reset();
    w.bytes(this.#quoteHead);
    QUOTE_FRESH.encode(w, { extraData: nonce, clockInfo: { clock: clock.clock, resetCount: clock.resetCount, restartCount: clock.restartCount, safe: true } });
    w.bytes(plan.tail);
    return { attest: w.finish(), values: plan.values };
  }

  /** Signs like TPM2_Quote with the AK's scheme over the TPMS_ATTEST bytes. */
  sign(attestBytes: Uint8Array): TpmtSignature {
    if (this.akKind === 'rsa') {
      return { sigAlg: TPM_ALG.RSASSA, signature: { hash: TPM_ALG.SHA256, sig: new Uint8Array(sign('sha256', attestBytes, this.#akPrivate.key)) } };
    }
    const raw = sign('sha256', attestBytes, { key: this.#akPrivate.key, dsaEncoding: 'ieee-p1363' });
    return { sigAlg: TPM_ALG.ECDSA, signature: { hash: TPM_ALG.SHA256, signatureR: new Uint8Array(raw.subarray(0, 32)), signatureS: new Uint8Array(raw.subarray(32)) } };
  }

  /** `sign`, marshalled as the TPMT_SIGNATURE that TPM2_Quote returns. */
  signatureBytes(attestBytes: Uint8Array): Uint8Array {
    return SCRATCH.marshal(TPMT_SIGNATURE, this.sign(attestBytes));
  }

  /** A TPM Reset (a reboot): resetCount up, restartCount and the clock from zero, PCRs cleared. */
  reboot(): void {
    this.clock.resetCount++;
    this.clock.restartCount = 0;
    this.#clockBase = 1000n;
    this.#poweredAt = Date.now();
    this.#lastClock = 0n;
    this.clock.clock = this.#clockBase;
    this.#resetPcrs();
  }

  #resetPcrs(): void {
    this.#pcrVersion++;
    for (const [bank, size] of Object.entries(SIM_BANKS) as Array<[SimBank, number]>) {
      this.#pcrs.set(bank, Array.from({ length: PCR_COUNT }, () => new Uint8Array(size)));
    }
  }
}

/** A selection as the protocol carries it, in tpm2-ts form (indices ascending). */
export function toTpmSelection(selection: PcrSelection): TpmPcrSelection[] {
  const out: TpmPcrSelection[] = [];
  for (const [bank, pcrs] of Object.entries(selection) as Array<[string, readonly number[] | undefined]>) {
    const alg = BANK_ALG[bank as SimBank] ?? (bank === 'sha512' ? TPM_ALG.SHA512 : undefined);
    if (pcrs !== undefined && alg !== undefined) out.push({ hashAlg: alg, pcrs: [...pcrs].sort((a, b) => a - b) });
  }
  return out;
}

/** The same banks in the same order with the same PCRs in the same order (what makes the same plan, and the same JSON). */
function sameSelection(a: PcrSelection, b: PcrSelection): boolean {
  if (a === b) return true;
  const banks = Object.keys(a);
  const others = Object.keys(b);
  if (banks.length !== others.length) return false;
  for (let i = 0; i < banks.length; i++) {
    if (banks[i] !== others[i]) return false;
    const x = (a as Record<string, readonly number[] | undefined>)[banks[i]!];
    const y = (b as Record<string, readonly number[] | undefined>)[banks[i]!];
    if (x === y) continue;
    if (x === undefined || y === undefined || x.length !== y.length) return false;
    for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) return false;
  }
  return true;
}

/** pcrDigest of TPMS_QUOTE_INFO (Part 2 §10.12.4): SHA-256 (the AK scheme's hash) of the reported values, in selection order. */
function quotedDigest(tpmSelection: readonly TpmPcrSelection[], values: PcrValues): Uint8Array {
  const digest = createHash('sha256');
  for (const s of tpmSelection) {
    const reported = (values as Record<string, Record<string, string> | undefined>)[bankName(s.hashAlg)];
    for (const p of s.pcrs) digest.update(Buffer.from(reported?.[String(p)] ?? '', 'hex'));
  }
  return new Uint8Array(digest.digest());
}

function bankName(alg: number): string {
  if (alg === TPM_ALG.SHA512) return 'sha512';
  return (Object.entries(BANK_ALG) as Array<[SimBank, number]>).find(([, a]) => a === alg)?.[0] ?? 'unknown';
}
