import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  checkQuote,
  formatPcrSelection,
  fromTpmlPcrSelection,
  parsePublicKey,
  parseQuoteAttest,
  type PublicKeyFormat,
  PcrFileError,
  type PcrValues,
  readPcrFile,
  TPM_GENERATED_VALUE,
  TpmPublicKeyError,
  type QuoteCheck,
  type TpmsAttest,
  verificationKey,
  type VerificationKey,
} from '@vigil/tpm2-ts';
import { CliError, ExitCode } from '../exit-codes.js';

/** TPM2B_DATA holds at most sizeof(TPMT_HA) = 66 bytes (Part 2 §10.4.3). */
const MAX_NONCE_BYTES = 66;
/** Far above any real input (a TPMS_ATTEST is under 1 KiB, a PCR file under 40 KiB): refuse to read huge files. */
const MAX_FILE_BYTES = 1 << 20;

interface QuoteOptions {
  ak: string;
  msg: string;
  sig: string;
  nonce?: string;
  pcrs?: string;
  json?: boolean;
}

/** `vigil-server verify quote`: check a TPM quote offline, e.g. one made by `tpm2_quote` or `vigil-agent tpm quote`. */
export function register(program: Command): void {
  const verify = program.command('verify').description('check TPM evidence offline');

  verify
    .command('quote')
    .description('check a TPM2_Quote: exit 0 if valid, 1 with the reason if not')
    .requiredOption('--ak <file>', 'the AK public key: PEM, DER, TPM2B_PUBLIC (tpm2-tools .pub) or TPMT_PUBLIC, detected from the content')
    .requiredOption('--msg <file>', 'the signed TPMS_ATTEST (tpm2_quote -m)')
    .requiredOption('--sig <file>', 'the TPMT_SIGNATURE (tpm2_quote -s)')
    .option('--nonce <hex>', 'the nonce the quote must carry as extraData (tpm2_quote -q)')
    .option('--pcrs <file>', 'PCR values: a tpm2-tools PCR file (tpm2_quote -o, serialized or -F values) or JSON {"sha256":{"0":"hex",...}}')
    .option('--json', 'print the result as JSON')
    .action(async (options: QuoteOptions) => {
      const nonce = options.nonce === undefined ? undefined : parseNonce(options.nonce);
      const [akBytes, msgBytes, sig, pcrBytes] = await Promise.all([
        readInput(options.ak, '--ak'),
        readInput(options.msg, '--msg'),
        readInput(options.sig, '--sig'),
        options.pcrs === undefined ? undefined : readInput(options.pcrs, '--pcrs'),
      ]);
      const ak = parseAk(akBytes, options.ak);
      const attest = unwrapAttest(msgBytes);

      let pcrValues: PcrValues | undefined;
      let pcrFormat: string | undefined;
      if (pcrBytes) {
        // The bare-values PCR format is split by the quote's own selection; if
        // the attestation does not parse, checkQuote reports why below.
        let selection;
        try {
          selection = fromTpmlPcrSelection(parseQuoteAttest(attest).attested.pcrSelect);
        } catch {
          selection = undefined;
        }
        if (selection) {
          try {
            const file = readPcrFile(pcrBytes, selection);
            pcrValues = file.values;
            pcrFormat = file.format;
          } catch (e) {
            if (!(e instanceof PcrFileError)) throw e;
            return report(options, { ok: false, reason: 'malformed-pcrs', message: `--pcrs ${options.pcrs}: ${e.message}` });
          }
        }
      }

      const result = checkQuote({ akPublic: ak.key, attest, signature: sig, ...(nonce ? { nonce } : {}), ...(pcrValues ? { pcrValues } : {}) });
      report(options, result, { akFormat: ak.format, ...(pcrFormat ? { pcrFormat } : {}) });
    });
}

type Outcome = QuoteCheck | { ok: false; reason: 'malformed-pcrs'; message: string; attest?: undefined };

function report(options: QuoteOptions, r: Outcome, inputs: { akFormat?: string; pcrFormat?: string } = {}): void {
  if (options.json === true) {
    process.stdout.write(JSON.stringify(toJson(r, inputs), null, 2) + '\n');
  } else if (r.ok) {
    const sig = `${algLabel(r.signature.sigAlg)}/${r.hash.name}`;
    const pcrs = formatPcrSelection(r.pcrSelection) || 'no PCRs';
    const lines = [
      `quote valid: signed by the AK (${sig}, key given as ${inputs.akFormat ?? 'key'})`,
      r.checked.nonce ? `  nonce: extraData matches ${hex(r.attest.extraData)}` : '  nonce: NOT CHECKED (no --nonce): this quote may be a replay',
      r.checked.pcrValues
        ? `  PCRs: the values given (${inputs.pcrFormat}) hash to the quoted digest over ${pcrs}`
        : `  PCRs: the quote covers ${pcrs}; their values were NOT CHECKED (no --pcrs)`,
      `  ${clockLine(r.attest)}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } else {
    process.stdout.write(`quote invalid: ${r.reason}: ${r.message}\n`);
  }
  if (!r.ok) process.exitCode = ExitCode.Failed;
}

function toJson(r: Outcome, inputs: { akFormat?: string; pcrFormat?: string }): unknown {
  const attest = r.attest ? attestJson(r.attest) : undefined;
  if (!r.ok) return { valid: false, reason: r.reason, message: r.message, ...(attest ? { attest } : {}) };
  return {
    valid: true,
    signature: { scheme: algLabel(r.signature.sigAlg), hash: r.hash.name },
    akFormat: inputs.akFormat,
    checked: r.checked,
    pcrSelection: formatPcrSelection(r.pcrSelection),
    ...(inputs.pcrFormat ? { pcrFormat: inputs.pcrFormat } : {}),
    attest,
  };
}

function attestJson(a: TpmsAttest): unknown {
  return {
    qualifiedSigner: hex(a.qualifiedSigner),
    extraData: hex(a.extraData),
    clock: a.clockInfo.clock.toString(),
    resetCount: a.clockInfo.resetCount,
    restartCount: a.clockInfo.restartCount,
    safe: a.clockInfo.safe,
    firmwareVersion: `0x${a.firmwareVersion.toString(16).padStart(16, '0')}`,
  };
}

function clockLine(a: TpmsAttest): string {
  const c = a.clockInfo;
  return `clock ${c.clock} ms, resetCount ${c.resetCount}, restartCount ${c.restartCount}, safe ${c.safe ? 'yes' : 'no'}, firmware 0x${a.firmwareVersion.toString(16).padStart(16, '0')}`;
}

const SCHEMES: Readonly<Record<number, string>> = { 0x0014: 'rsassa', 0x0016: 'rsapss', 0x0018: 'ecdsa' };
function algLabel(alg: number): string {
  return SCHEMES[alg] ?? `0x${alg.toString(16)}`;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

async function readInput(path: string, flag: string): Promise<Uint8Array> {
  let data: Buffer;
  try {
    data = await readFile(path);
  } catch (e) {
    throw new CliError(`${flag}: cannot read ${path}: ${(e as Error).message}`, ExitCode.Io, { cause: e });
  }
  if (data.length > MAX_FILE_BYTES) throw new CliError(`${flag}: ${path} is ${data.length} bytes, more than any ${flag.slice(2)} file can be`, ExitCode.Usage);
  return new Uint8Array(data);
}

function parseNonce(text: string): Uint8Array {
  const h = text.startsWith('0x') ? text.slice(2) : text;
  if (!/^([0-9a-fA-F]{2})+$/.test(h)) throw new CliError(`--nonce: '${text}' is not an even number of hex digits`, ExitCode.Usage);
  if (h.length / 2 > MAX_NONCE_BYTES) throw new CliError(`--nonce: ${h.length / 2} bytes; a quote's extraData holds at most ${MAX_NONCE_BYTES}`, ExitCode.Usage);
  return new Uint8Array(Buffer.from(h, 'hex'));
}

/** The AK is the verifier's own trusted input, not evidence: an unreadable one is a usage error (exit 2). */
function parseAk(bytes: Uint8Array, path: string): { key: VerificationKey; format: PublicKeyFormat } {
  try {
    const parsed = parsePublicKey(bytes);
    return { key: verificationKey(parsed.public ?? parsed.key), format: parsed.format };
  } catch (e) {
    if (e instanceof TpmPublicKeyError) throw new CliError(`--ak ${path}: ${e.message}`, ExitCode.Usage, { cause: e });
    throw e;
  }
}

/**
 * tpm2_quote writes the bare TPMS_ATTEST; some tools keep the TPM2B_ATTEST
 * size prefix. Strip the prefix only when it is exactly that: a size equal to
 * the rest, followed by the TPM_GENERATED_VALUE magic.
 */
function unwrapAttest(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 6) return bytes;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0) !== TPM_GENERATED_VALUE && v.getUint16(0) === bytes.length - 2 && v.getUint32(2) === TPM_GENERATED_VALUE) return bytes.subarray(2);
  return bytes;
}
