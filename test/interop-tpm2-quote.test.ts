// Interop with tpm2-tools, tpm2-tools producing: quotes made by `tpm2_quote`
// with AKs from `tpm2_createek` + `tpm2_createak` (RSA and ECC) and from
// `tpm2_createprimary` + `tpm2_create` (restricted signing keys) are accepted
// by `vigil-server verify quote` (the built CLI) with the AK in every format
// `tpm2_readpublic` writes, and each single tampering (one byte of the quote,
// the signature, the nonce, a PCR value) is rejected with its own reason.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseQuoteAttest, TPM_ALG, unmarshal, TPMT_SIGNATURE } from '@vigil/tpm2-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSwtpm, type SwtpmInstance } from './harness/swtpm.js';
import { type Tpm2Tools, tpm2Tools } from './tpm2-tools.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'server', 'dist', 'cli', 'vigil-server.cjs');

interface Verdict {
  readonly code: number;
  readonly json: { valid: boolean; reason?: string; message?: string; akFormat?: string; pcrFormat?: string; pcrSelection?: string };
  readonly stderr: string;
}

async function verifyQuote(args: readonly string[]): Promise<Verdict> {
  let code = 0;
  let stdout: string;
  let stderr: string;
  try {
    ({ stdout, stderr } = await run('node', [CLI, 'verify', 'quote', ...args, '--json'], { encoding: 'utf8' }));
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    code = typeof x.code === 'number' ? x.code : -1;
    stdout = x.stdout ?? '';
    stderr = x.stderr ?? '';
  }
  let json: Verdict['json'];
  try {
    json = JSON.parse(stdout) as Verdict['json'];
  } catch {
    throw new Error(`verify quote printed no JSON (exit ${code}):\n${stdout}\n${stderr}`);
  }
  return { code, json, stderr };
}

/**
 * How the AK is made, as tpm2-tools commands run in the AK's directory, and
 * the tpm2_quote arguments its fixed scheme needs (tpm2_quote asks for
 * RSASSA on RSA keys unless told otherwise).
 */
const RESTRICTED_SIGNING = 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign';
const AK_RECIPES: Record<string, { make: (t: Tpm2Tools) => Promise<void>; quoteArgs: readonly string[] }> = {
  'createek+createak RSA (rsassa)': {
    quoteArgs: ['-g', 'sha256'],
    make: async (t) => {
      await t('tpm2_createek', ['-c', 'ek.ctx', '-G', 'rsa', '-u', 'ek.pub']);
      await t('tpm2_createak', ['-C', 'ek.ctx', '-c', 'ak.ctx', '-G', 'rsa', '-g', 'sha256', '-s', 'rsassa', '-u', 'ak.tss.pub', '-n', 'ak.name']);
    },
  },
  'createek+createak ECC (ecdsa)': {
    quoteArgs: ['-g', 'sha256'],
    make: async (t) => {
      await t('tpm2_createek', ['-c', 'ek.ctx', '-G', 'ecc', '-u', 'ek.pub']);
      await t('tpm2_createak', ['-C', 'ek.ctx', '-c', 'ak.ctx', '-G', 'ecc', '-g', 'sha256', '-s', 'ecdsa', '-u', 'ak.tss.pub', '-n', 'ak.name']);
    },
  },
  'createprimary+create RSA restricted signing (rsapss)': {
    quoteArgs: ['-g', 'sha256', '--scheme', 'rsapss'],
    make: async (t) => {
      await t('tpm2_createprimary', ['-C', 'o', '-G', 'ecc256', '-c', 'primary.ctx']);
      await t('tpm2_create', ['-C', 'primary.ctx', '-G', 'rsa2048:rsapss-sha256:null', '-a', RESTRICTED_SIGNING, '-u', 'key.pub', '-r', 'key.priv']);
      await t('tpm2_load', ['-C', 'primary.ctx', '-u', 'key.pub', '-r', 'key.priv', '-c', 'ak.ctx']);
    },
  },
  'createprimary+create ECC restricted signing (ecdsa P-384/sha384)': {
    quoteArgs: ['-g', 'sha384'],
    make: async (t) => {
      await t('tpm2_createprimary', ['-C', 'o', '-G', 'ecc256', '-c', 'primary.ctx']);
      await t('tpm2_create', ['-C', 'primary.ctx', '-G', 'ecc384:ecdsa-sha384:null', '-a', RESTRICTED_SIGNING, '-u', 'key.pub', '-r', 'key.priv']);
      await t('tpm2_load', ['-C', 'primary.ctx', '-u', 'key.pub', '-r', 'key.priv', '-c', 'ak.ctx']);
    },
  },
};

/** A quote and its files, made by tpm2-tools in `dir`. */
interface Made {
  readonly dir: string;
  readonly nonce: string;
  readonly file: (name: string) => string;
}

describe('vigil-server verify quote accepts tpm2_quote quotes', () => {
  let sim: SwtpmInstance;
  let root: string;
  const made = new Map<string, Made>();

  beforeAll(async () => {
    sim = await startSwtpm({ transport: 'tcp' });
    root = await mkdtemp(join(tmpdir(), 'vigil-interop-quote-'));
    const t = tpm2Tools(sim.tcti!, root);
    // Give the quoted PCRs distinct, non-zero values, so order and selection matter.
    for (const pcr of [0, 1, 2, 7]) {
      await t('tpm2_pcrextend', [`${pcr}:sha256=${randomBytes(32).toString('hex')},sha1=${randomBytes(20).toString('hex')}`]);
    }
    for (const [label, recipe] of Object.entries(AK_RECIPES)) {
      const dir = join(root, String(made.size));
      await mkdir(dir);
      const tools = tpm2Tools(sim.tcti!, dir);
      await recipe.make(tools);
      for (const f of ['tss', 'tpmt', 'pem', 'der'] as const) await tools('tpm2_readpublic', ['-c', 'ak.ctx', '-f', f, '-o', `ak.${f}`]);
      const nonce = randomBytes(16).toString('hex');
      await tools('tpm2_quote', ['-c', 'ak.ctx', '-l', 'sha256:0,1,2,7', '-q', nonce, '-m', 'quote.msg', '-s', 'quote.sig', '-o', 'pcrs.bin', ...recipe.quoteArgs]);
      // The same PCRs in tpm2-tools' other PCR file format, and a two-bank quote.
      await tools('tpm2_quote', ['-c', 'ak.ctx', '-l', 'sha1:0,2+sha256:0,1,2,7', '-q', nonce, '-m', 'quote2.msg', '-s', 'quote2.sig', '-o', 'pcrs2.values', '-F', 'values', ...recipe.quoteArgs]);
      made.set(label, { dir, nonce, file: (n) => join(dir, n) });
    }
  });
  afterAll(async () => {
    await sim?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  for (const label of Object.keys(AK_RECIPES)) {
    describe(label, () => {
      it('accepted with the AK as TPM2B_PUBLIC, TPMT_PUBLIC, PEM and DER, with nonce and PCR file', async () => {
        const m = made.get(label)!;
        const formats = [
          ['tss', 'tpm2b-public'],
          ['tpmt', 'tpmt-public'],
          ['pem', 'pem'],
          ['der', 'der'],
        ] as const;
        const verdicts = await Promise.all(
          formats.map(([format]) => verifyQuote(['--ak', m.file(`ak.${format}`), '--msg', m.file('quote.msg'), '--sig', m.file('quote.sig'), '--nonce', m.nonce, '--pcrs', m.file('pcrs.bin')])),
        );
        formats.forEach(([format, expected], i) => {
          const v = verdicts[i]!;
          expect({ format, code: v.code, valid: v.json.valid, reason: v.json.reason, message: v.json.message }).toEqual({ format, code: 0, valid: true, reason: undefined, message: undefined });
          expect(v.json.akFormat).toBe(expected);
          expect(v.json.pcrFormat).toBe('tpm2-tools-serialized');
          expect(v.json.pcrSelection).toBe('sha256:0,1,2,7');
        });
        // tpm2_createak's -u file is the same TPM2B_PUBLIC format.
        if (label.startsWith('createek')) {
          const v = await verifyQuote(['--ak', m.file('ak.tss.pub'), '--msg', m.file('quote.msg'), '--sig', m.file('quote.sig'), '--nonce', m.nonce]);
          expect(v.code, v.json.message).toBe(0);
        }
      });

      it('accepted for two banks with the bare-values PCR file (tpm2_quote -F values)', async () => {
        const m = made.get(label)!;
        const v = await verifyQuote(['--ak', m.file('ak.tss'), '--msg', m.file('quote2.msg'), '--sig', m.file('quote2.sig'), '--nonce', m.nonce, '--pcrs', m.file('pcrs2.values')]);
        expect(v.code, v.json.message).toBe(0);
        expect(v.json.pcrFormat).toBe('tpm2-tools-values');
        expect(v.json.pcrSelection).toBe('sha1:0,2+sha256:0,1,2,7');
      });

      it('rejects one byte of the quote, the signature, the nonce or a PCR value, each with its reason', async () => {
        const m = made.get(label)!;
        const msg = new Uint8Array(await readFile(m.file('quote.msg')));
        const sig = new Uint8Array(await readFile(m.file('quote.sig')));
        const pcrs = new Uint8Array(await readFile(m.file('pcrs.bin')));
        const attest = parseQuoteAttest(msg);
        expect(Buffer.from(attest.extraData).toString('hex')).toBe(m.nonce);
        const out = join(m.dir, 'tampered');
        await mkdir(out, { recursive: true });
        const flipped = async (name: string, bytes: Uint8Array, at: number): Promise<string> => {
          expect(at).toBeLessThan(bytes.length);
          const b = bytes.slice();
          b[at]! ^= 0x01;
          const p = join(out, name);
          await writeFile(p, b);
          return p;
        };
        // Offsets in TPMS_ATTEST (Part 2 §10.12.12): magic 0, type 4, qualifiedSigner 6, then extraData, clockInfo.
        const extraDataAt = 6 + 2 + attest.qualifiedSigner.length + 2;
        const clockAt = extraDataAt + attest.extraData.length;
        // The signature decodes; its last byte is part of s or of the RSA signature value.
        expect(() => unmarshal(TPMT_SIGNATURE, sig)).not.toThrow();
        // The first digest in tpm2-tools' serialized PCR file: 132-byte selection, u32 count, u32 digest count, u16 size.
        const firstPcrAt = 132 + 4 + 4 + 2;
        const good = { ak: m.file('ak.tss'), msg: m.file('quote.msg'), sig: m.file('quote.sig'), nonce: m.nonce, pcrs: m.file('pcrs.bin') };
        const cases: [string, Partial<typeof good>, string][] = [
          ['quote magic', { msg: await flipped('magic.msg', msg, 1) }, 'bad-magic'],
          ['quote type', { msg: await flipped('type.msg', msg, 5) }, 'not-a-quote'],
          ['quote extraData', { msg: await flipped('extra.msg', msg, extraDataAt + 3) }, 'nonce-mismatch'],
          ['quote clock', { msg: await flipped('clock.msg', msg, clockAt + 7) }, 'bad-signature'],
          ['quote pcrDigest', { msg: await flipped('digest.msg', msg, msg.length - 1) }, 'bad-signature'],
          ['signature', { sig: await flipped('quote.sig', sig, sig.length - 1) }, 'bad-signature'],
          ['nonce', { nonce: `${m.nonce.slice(0, -2)}${m.nonce.endsWith('00') ? '01' : '00'}` }, 'nonce-mismatch'],
          ['PCR value', { pcrs: await flipped('pcrs.bin', pcrs, firstPcrAt + 5) }, 'pcr-digest-mismatch'],
        ];
        const verdicts = await Promise.all(
          cases.map(([, change]) => {
            const x = { ...good, ...change };
            return verifyQuote(['--ak', x.ak, '--msg', x.msg, '--sig', x.sig, '--nonce', x.nonce, '--pcrs', x.pcrs]);
          }),
        );
        cases.forEach(([what, , reason], i) => {
          const v = verdicts[i]!;
          expect({ what, code: v.code, valid: v.json.valid, reason: v.json.reason }).toEqual({ what, code: 1, valid: false, reason });
        });
      });
    });
  }

  it('the PCR file from tpm2_quote holds the quoted bank in the quoted order', async () => {
    // A cross-check of the file layout against the TPM's own selection, independent of the CLI.
    const m = made.values().next().value!;
    const attest = parseQuoteAttest(new Uint8Array(await readFile(m.file('quote.msg'))));
    expect(attest.attested.pcrSelect).toEqual([{ hash: TPM_ALG.SHA256, pcrSelect: Uint8Array.of(0x87, 0x00, 0x00) }]);
  });
});
