// Benchmark `verify-quote`: in-process quote verification rate — checkQuote
// end to end (parse TPMS_ATTEST, nonce, TPMT_SIGNATURE decode and verify, PCR
// digest of 8 SHA-256 PCRs) with the AK prepared once — against a bare
// node:crypto `verify` of the same signature with the same key, in the same
// run. The ratio is the verifier's overhead over the signature check itself.
// Quotes are signed in software (a load generator, not a test: the TPM's
// part is not what is measured).
import { constants, createHash, type KeyObject, randomBytes, sign, verify } from 'node:crypto';
import {
  generateKeyPair,
  AK_TEMPLATE_ECC,
  AK_TEMPLATE_RSA,
  checkQuote,
  marshal,
  TPM2B_PUBLIC,
  TPM_ALG,
  TPM_GENERATED_VALUE,
  TPM_ST,
  TPMS_ATTEST,
  TPMT_SIGNATURE,
  type TpmtPublic,
  type TpmtSignature,
  verificationKey,
} from '@vigil/tpm2-ts';
import type { Benchmark, BenchOptions } from './registry.js';

interface VerifyQuoteOptions {
  /** Length of one timed window, ms. */
  readonly windowMs?: number;
  /** Windows per measurement; the median is reported. */
  readonly rounds?: number;
  /** Untimed calls before measuring, ms per contender. */
  readonly warmupMs?: number;
}

interface VerifyQuoteRow {
  readonly key: string;
  readonly checkQuotePerSec: number;
  readonly checkQuoteFromBytesPerSec: number;
  readonly rawVerifyPerSec: number;
  /** checkQuote time / raw verify time (1.0 = no overhead): the median over paired windows. */
  readonly overhead: number;
}

interface Fixture {
  readonly label: string;
  readonly tpmt: TpmtPublic;
  readonly publicKey: KeyObject;
  readonly attest: Uint8Array;
  readonly signature: Uint8Array;
  readonly rawSignature: Uint8Array;
  readonly rawOptions: { key: KeyObject; padding?: number; dsaEncoding?: 'ieee-p1363' };
  readonly nonce: Uint8Array;
  readonly pcrValues: Map<number, Map<number, Uint8Array>>;
}

const PCRS = [0, 1, 2, 3, 4, 5, 6, 7];
const b64 = (s: string | undefined): Uint8Array => new Uint8Array(Buffer.from(s!, 'base64url'));

function fixture(kind: 'rsa' | 'ecc'): Fixture {
  const nonce = new Uint8Array(randomBytes(32));
  const bank = new Map(PCRS.map((p) => [p, new Uint8Array(randomBytes(32))]));
  const h = createHash('sha256');
  for (const p of PCRS) h.update(bank.get(p)!);
  const attest = marshal(TPMS_ATTEST, {
    magic: TPM_GENERATED_VALUE,
    type: TPM_ST.ATTEST_QUOTE,
    qualifiedSigner: Uint8Array.from([0x00, 0x0b, ...randomBytes(32)]),
    extraData: nonce,
    clockInfo: { clock: 1_000_000n, resetCount: 1, restartCount: 0, safe: true },
    firmwareVersion: 1n,
    attested: { pcrSelect: [{ hash: TPM_ALG.SHA256, pcrSelect: Uint8Array.of(0xff, 0, 0) }], pcrDigest: new Uint8Array(h.digest()) },
  });
  if (kind === 'rsa') {
    const { publicKey, privateKey } = generateKeyPair({ type: 'rsa', modulusLength: 2048 });
    const raw = new Uint8Array(sign('sha256', attest, privateKey));
    const sig: TpmtSignature = { sigAlg: TPM_ALG.RSASSA, signature: { hash: TPM_ALG.SHA256, sig: raw } };
    return {
      label: 'RSA-2048 RSASSA-SHA256',
      tpmt: { ...AK_TEMPLATE_RSA, unique: b64(publicKey.export({ format: 'jwk' }).n) },
      publicKey,
      attest,
      signature: marshal(TPMT_SIGNATURE, sig),
      rawSignature: raw,
      rawOptions: { key: publicKey, padding: constants.RSA_PKCS1_PADDING },
      nonce,
      pcrValues: new Map([[TPM_ALG.SHA256, bank]]),
    };
  }
  const { publicKey, privateKey } = generateKeyPair({ type: 'ec', namedCurve: 'P-256' });
  const raw = new Uint8Array(sign('sha256', attest, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
  const jwk = publicKey.export({ format: 'jwk' });
  const sig: TpmtSignature = { sigAlg: TPM_ALG.ECDSA, signature: { hash: TPM_ALG.SHA256, signatureR: raw.subarray(0, 32), signatureS: raw.subarray(32) } };
  return {
    label: 'ECC P-256 ECDSA-SHA256',
    tpmt: { ...AK_TEMPLATE_ECC, unique: { x: b64(jwk.x), y: b64(jwk.y) } },
    publicKey,
    attest,
    signature: marshal(TPMT_SIGNATURE, sig),
    rawSignature: raw,
    rawOptions: { key: publicKey, dsaEncoding: 'ieee-p1363' },
    nonce,
    pcrValues: new Map([[TPM_ALG.SHA256, bank]]),
  };
}

/** Operations per second of `op` over one window of `ms`. */
function rate(op: () => boolean, ms: number): number {
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 50; i++) if (!op()) throw new Error('verification failed during the benchmark');
    n += 50;
    now = process.hrtime.bigint();
  }
  return (n * 1e9) / Number(now - start);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function runVerifyQuote(options: VerifyQuoteOptions = {}): VerifyQuoteRow[] {
  const windowMs = options.windowMs ?? 200;
  const rounds = options.rounds ?? 15;
  const warmupMs = options.warmupMs ?? 1000;
  const rows: VerifyQuoteRow[] = [];
  for (const kind of ['rsa', 'ecc'] as const) {
    const f = fixture(kind);
    const prepared = verificationKey(f.tpmt);
    const akBytes = marshal(TPM2B_PUBLIC, f.tpmt);
    const viaPrepared = (): boolean => checkQuote({ akPublic: prepared, attest: f.attest, signature: f.signature, nonce: f.nonce, pcrValues: f.pcrValues }).ok;
    // The AK as the store would hand it over (TPM2B_PUBLIC bytes): found again in the key cache by content each time.
    const viaBytes = (): boolean => checkQuote({ akPublic: akBytes, attest: f.attest, signature: f.signature, nonce: f.nonce, pcrValues: f.pcrValues }).ok;
    // The same KeyObject checkQuote uses, so the comparison is about the work around the signature check only.
    const rawOptions = { ...f.rawOptions, key: prepared.key };
    const raw = (): boolean => verify('sha256', f.attest, rawOptions, f.rawSignature);
    // Warm up (the JIT needs many thousand calls to settle), then interleave the three so drift (other load) hits them alike.
    for (const op of [viaPrepared, viaBytes, raw]) rate(op, warmupMs);
    const a: number[] = [];
    const b: number[] = [];
    const c: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < rounds; r++) {
      // Paired windows, alternating which goes first: the overhead is the median of per-round ratios, robust to load changing between rounds.
      const first = r % 2 === 0;
      const x = first ? rate(raw, windowMs) : 0;
      const y = rate(viaPrepared, windowMs);
      const z = first ? x : rate(raw, windowMs);
      a.push(y);
      c.push(z);
      ratios.push(z / y);
      b.push(rate(viaBytes, windowMs));
    }
    rows.push({ key: f.label, checkQuotePerSec: median(a), checkQuoteFromBytesPerSec: median(b), rawVerifyPerSec: median(c), overhead: median(ratios) });
  }
  return rows;
}

function formatVerifyQuote(rows: readonly VerifyQuoteRow[]): string {
  const n = (x: number): string => Math.round(x).toLocaleString('en-US').padStart(9);
  const lines = [
    'verify-quote: quotes verified per second, one core (median of the windows)',
    `${'key'.padEnd(24)} ${'checkQuote'.padStart(10)} ${'from bytes'.padStart(10)} ${'raw verify'.padStart(10)}  checkQuote time / raw`,
  ];
  for (const r of rows) lines.push(`${r.key.padEnd(24)} ${n(r.checkQuotePerSec)} ${n(r.checkQuoteFromBytesPerSec)} ${n(r.rawVerifyPerSec)}  ${r.overhead.toFixed(2)}x`);
  return lines.join('\n') + '\n';
}

/** `npm run bench -- verify-quote`. */
export const verifyQuoteBenchmark: Benchmark = {
  description: 'in-process quote verification rate (checkQuote, AK prepared once) against raw crypto.verify on the same key',
  async run(options: BenchOptions): Promise<Record<string, unknown>> {
    const rows = runVerifyQuote(options.quick ? { windowMs: 20, rounds: 3, warmupMs: 20 } : {});
    process.stdout.write(formatVerifyQuote(rows));
    return { rows };
  },
};
