import type { Command } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AkKind,
  encodePublicBlob,
  encodeTpm2ToolsPcrFile,
  formatPcrSelection,
  openTpm,
  parsePcrSelection,
  pcrValuesToJson,
  PcrNotAllocatedError,
  PcrSelectionError,
  publicKeyFromTpmt,
  type Tpm,
  TpmMarshalError,
  TpmProtocolError,
  TpmResponseError,
  TpmSessionError,
  TpmTransportError,
  TpmUnmarshalError,
  TpmUriError,
} from '@vigil/tpm2-ts';
import { prepareAttestationKey } from '../../tpm/attestation-key.js';
import { quotePcrs } from '../../tpm/quote.js';
import { describeTpm, type TpmReport } from '../../tpm/tpm-report.js';
import { CliError, ExitCode } from '../exit-codes.js';

const DEFAULT_TPM = 'device:/dev/tpmrm0';
/** TPM2B_DATA holds at most sizeof(TPMT_HA) = 66 bytes (Part 2 §10.4.3); nonces are at most a SHA-512 digest. */
const MAX_NONCE_BYTES = 64;

/**
 * `vigil-agent tpm info|quote`: look at the TPM and make a quote that
 * tpm2-tools (`tpm2_checkquote`) and `vigil-server verify quote` can check.
 */
export function register(program: Command): void {
  const tpm = program.command('tpm').description('inspect the TPM and make quotes');

  tpm
    .command('info')
    .description('manufacturer, firmware, allocated PCR banks and which EK certificates are in NV')
    .option('--tpm <uri>', 'TPM URI: device:/dev/tpmrm0, swtpm:path=..., swtpm:host=...,port=..., mssim:host=...,port=... (default: $VIGIL_TPM or device:/dev/tpmrm0)')
    .option('--json', 'print JSON')
    .action(async (options: { tpm?: string; json?: boolean }) => {
      const report = await withTpm(options.tpm, (t) => describeTpm(t));
      process.stdout.write(options.json === true ? JSON.stringify(reportJson(report), null, 2) + '\n' : reportText(report));
    });

  tpm
    .command('quote')
    .description('quote PCRs with an attestation key; writes quote.msg, quote.sig, pcrs.bin, pcrs.json, ak.pub.pem and ak.pub to --out')
    .option('--tpm <uri>', 'TPM URI (default: $VIGIL_TPM or device:/dev/tpmrm0)')
    .requiredOption('--nonce <hex>', `qualifying data, 1 to ${MAX_NONCE_BYTES} bytes in hex`)
    .requiredOption('--pcrs <selection>', 'PCRs to quote, e.g. sha256:0,1,2,7 or sha1:0+sha256:0,7')
    .requiredOption('--out <dir>', 'directory to write the quote files to (created if missing)')
    .option('--ak-kind <kind>', 'attestation key type: rsa (RSASSA-SHA256) or ecc (ECDSA P-256 SHA-256)', 'rsa')
    .option('--ak-dir <dir>', 'keep the AK here (ak.pub/ak.priv): load it if present, else create and save it; without it a fresh AK is made')
    .option('--json', 'print a JSON summary')
    .action(async (options: { tpm?: string; nonce: string; pcrs: string; out: string; akKind: string; akDir?: string; json?: boolean }) => {
      const nonce = parseNonce(options.nonce);
      const selection = parseSelection(options.pcrs);
      const kind = parseAkKind(options.akKind);
      const result = await withTpm(options.tpm, async (t) => {
        const key = await prepareAttestationKey(t, kind, options.akDir);
        try {
          return { key, evidence: await quotePcrs(t, key.ak, nonce, selection) };
        } finally {
          await key.release();
        }
      });
      const { key, evidence } = result;
      const pem = publicKeyFromTpmt(key.blobs.public).export({ type: 'spki', format: 'pem' }).toString();
      const files: Record<string, Uint8Array | string> = {
        'quote.msg': evidence.message,
        'quote.sig': evidence.signature,
        'pcrs.bin': encodeTpm2ToolsPcrFile(evidence.selection, evidence.pcrValues),
        'pcrs.json': JSON.stringify(pcrValuesToJson(evidence.pcrValues), null, 2) + '\n',
        'ak.pub.pem': pem,
        'ak.pub': encodePublicBlob(key.blobs.public),
      };
      try {
        await mkdir(options.out, { recursive: true });
        for (const [name, data] of Object.entries(files)) await writeFile(join(options.out, name), data);
      } catch (e) {
        throw new CliError(`cannot write the quote files to ${options.out}: ${(e as Error).message}`, ExitCode.Io, { cause: e });
      }
      const summary = {
        out: options.out,
        files: Object.keys(files),
        pcrs: formatPcrSelection(evidence.selection),
        nonce: Buffer.from(nonce).toString('hex'),
        akKind: kind,
        akName: Buffer.from(key.blobs.name).toString('hex'),
        akCreated: key.created,
        resetCount: evidence.attest.clockInfo.resetCount,
      };
      process.stdout.write(options.json === true ? JSON.stringify(summary, null, 2) + '\n' : `quote of ${summary.pcrs} written to ${options.out} (${summary.files.join(', ')})\n`);
    });
}

function tpmUri(option: string | undefined): string {
  return option ?? process.env['VIGIL_TPM'] ?? DEFAULT_TPM;
}

/** Opens the TPM, runs `fn`, closes it; every TPM failure becomes a CliError with ExitCode.Tpm. */
async function withTpm<T>(uriOption: string | undefined, fn: (t: Tpm) => Promise<T>): Promise<T> {
  const uri = tpmUri(uriOption);
  let t: Tpm;
  try {
    t = await openTpm(uri);
  } catch (e) {
    throw cliErrorFor(e, uri);
  }
  try {
    return await fn(t);
  } catch (e) {
    throw cliErrorFor(e, uri);
  } finally {
    await t.close().catch(() => undefined);
  }
}

function cliErrorFor(e: unknown, uri: string): unknown {
  if (e instanceof CliError) return e;
  if (e instanceof TpmUriError) return new CliError(e.message, ExitCode.Usage, { cause: e });
  if (e instanceof PcrNotAllocatedError) return new CliError(e.message, ExitCode.Usage, { cause: e });
  if (
    e instanceof TpmResponseError ||
    e instanceof TpmTransportError ||
    e instanceof TpmProtocolError ||
    e instanceof TpmSessionError ||
    e instanceof TpmUnmarshalError ||
    e instanceof TpmMarshalError
  ) {
    return new CliError(`TPM ${uri}: ${e.message}`, ExitCode.Tpm, { cause: e });
  }
  if (e instanceof Error && 'code' in e && typeof (e as NodeJS.ErrnoException).code === 'string' && (e as NodeJS.ErrnoException).syscall) {
    return new CliError(e.message, ExitCode.Io, { cause: e });
  }
  return e;
}

function parseNonce(text: string): Uint8Array {
  const h = text.startsWith('0x') ? text.slice(2) : text;
  if (!/^([0-9a-fA-F]{2})+$/.test(h)) throw new CliError(`--nonce: '${text}' is not an even number of hex digits`, ExitCode.Usage);
  if (h.length / 2 > MAX_NONCE_BYTES) throw new CliError(`--nonce: ${h.length / 2} bytes; at most ${MAX_NONCE_BYTES}`, ExitCode.Usage);
  return new Uint8Array(Buffer.from(h, 'hex'));
}

function parseSelection(text: string): ReturnType<typeof parsePcrSelection> {
  try {
    const sel = parsePcrSelection(text);
    for (const s of sel) if (s.pcrs.some((p) => p > 23)) throw new PcrSelectionError(`PCR indices above 23 do not exist on a PC Client TPM`);
    return sel;
  } catch (e) {
    if (e instanceof PcrSelectionError) throw new CliError(`--pcrs: ${e.message}`, ExitCode.Usage, { cause: e });
    throw e;
  }
}

function parseAkKind(text: string): AkKind {
  if (text === 'rsa' || text === 'ecc') return text;
  throw new CliError(`--ak-kind: '${text}' is not rsa or ecc`, ExitCode.Usage);
}

const hex32 = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

function reportJson(r: TpmReport): unknown {
  const id = r.identity;
  return {
    manufacturer: id.manufacturer,
    manufacturerId: hex32(id.manufacturerId),
    vendorString: id.vendorString,
    firmwareVersion: id.firmwareVersionString,
    firmwareVersionRaw: id.firmwareVersion.map(hex32),
    specFamily: id.family,
    specLevel: id.level,
    specRevision: id.revision,
    pcrBanks: r.pcrBanks.map((b) => ({ alg: b.name, pcrs: b.pcrCount })),
    ekCertificates: Object.fromEntries(
      Object.entries(r.ekCertificates).map(([k, v]) => [k, { present: v.present, nvIndex: hex32(v.nvIndex), ...(v.size !== undefined ? { size: v.size } : {}) }]),
    ),
  };
}

function reportText(r: TpmReport): string {
  const id = r.identity;
  const lines = [
    `manufacturer      ${id.manufacturer} (${hex32(id.manufacturerId)})`,
    `vendor string     ${id.vendorString}`,
    `firmware version  ${id.firmwareVersionString} (${id.firmwareVersion.map(hex32).join(' ')})`,
    `specification     TPM ${id.family} level ${id.level} revision ${(id.revision / 100).toFixed(2)}`,
    `PCR banks         ${r.pcrBanks.map((b) => `${b.name} (${b.pcrCount} PCRs)`).join(', ') || 'none'}`,
    ...Object.entries(r.ekCertificates).map(
      ([k, v], i) => `${i === 0 ? 'EK certificates ' : '                '}  ${k.padEnd(9)} ${v.present ? `present (${v.size} bytes)` : 'absent'} at NV ${hex32(v.nvIndex)}`,
    ),
  ];
  return lines.join('\n') + '\n';
}
