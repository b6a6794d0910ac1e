/**
 * Hostile evidence that passes the message schema and is answered with a
 * verdict naming what is wrong: TPM structures cut short, valid structures
 * with the wrong tags, PCR selections that do not match the values,
 * duplicate banks, event and measurement logs whose size fields lie, and
 * decompression bombs. Each case is signed by the device's own (software)
 * AK where a signature is needed, so the verifier cannot refuse it for a
 * reason other than the one the case is about.
 *
 * A TPMS_ATTEST of another type made by a real TPM (TPM2_Certify on swtpm)
 * is built in the test itself, since it needs the TPM.
 */
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { DEFAULT_MODEL_PCR } from '@vigil/evidence';
import type { AttestationChallenge, Evidence, Submodule } from '@vigil/protocol';
import { TPM_ALG, TPM_ST, TPMS_ATTEST, TPMT_SIGNATURE, marshal, type TpmsAttest } from '@vigil/tpm2-ts';
import { simEvidence, type SimQuoteParts, type SoftwareTpm } from './sim-fleet.js';

export interface HostileEvidenceCase {
  readonly name: string;
  /** The verdict must name this submodule and reason code, and be contraindicated. */
  readonly expect: { readonly submodule: Submodule; readonly code: string };
  build(tpm: SoftwareTpm, challenge: AttestationChallenge): Evidence;
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** Evidence whose TPMS_ATTEST bytes are `attestBytes`, signed by the device's AK (as a TPM would sign whatever its key signs). */
function signedRaw(tpm: SoftwareTpm, challenge: AttestationChallenge, attestBytes: Uint8Array): Evidence {
  const honest = simEvidence(tpm, challenge);
  return { ...honest, quote: b64(attestBytes), signature: b64(marshal(TPMT_SIGNATURE, tpm.sign(attestBytes))) };
}

function honestAttest(tpm: SoftwareTpm, challenge: AttestationChallenge): { parts: SimQuoteParts; bytes: Uint8Array } {
  let captured: SimQuoteParts | undefined;
  simEvidence(tpm, challenge, (p) => {
    captured = p;
  });
  return { parts: captured!, bytes: marshal(TPMS_ATTEST, captured!.attest) };
}

/** A TCG PC Client log whose first event (TCG_PCR_EVENT, SHA-1 format) announces far more data than follows. */
export function eventLogWithLyingSize(): Uint8Array {
  const b = Buffer.alloc(4 + 4 + 20 + 4 + 16);
  b.writeUInt32LE(0, 0); // PCR 0
  b.writeUInt32LE(0x03, 4); // EV_NO_ACTION (what the Spec ID event is)
  b.writeUInt32LE(0x7fff_fff0, 28); // eventSize: ~2 GiB, 16 bytes present
  return b;
}

/** An IMA binary measurement list whose single `ima-ng` entry announces ~4 GiB of template data. */
export function imaBinaryWithLyingSize(pcr: number): Uint8Array {
  const name = Buffer.from('ima-ng');
  const b = Buffer.alloc(4 + 20 + 4 + name.length + 4 + 8);
  let o = b.writeUInt32LE(pcr, 0);
  o += 20; // template hash
  o = b.writeUInt32LE(name.length, o);
  o += name.copy(b, o);
  b.writeUInt32LE(0xffff_fff0, o);
  return b;
}

/** gzip of `size` zero bytes: a few KiB that inflate to `size`. */
export function gzipBomb(size: number): Uint8Array {
  return gzipSync(Buffer.alloc(size), { level: 9 });
}

function withBootLog(tpm: SoftwareTpm, challenge: AttestationChallenge, raw: Uint8Array, compressed?: Uint8Array): Evidence {
  const e = simEvidence(tpm, challenge);
  // The digest is the true SHA-256 of the raw log, so only the log's content is at fault.
  const digest = createHash('sha256').update(raw).digest('hex');
  return { ...e, bootLog: { digest, blob: compressed ? { encoding: 'gzip', data: b64(compressed) } : { encoding: 'identity', data: b64(raw) } } };
}

export const HOSTILE_EVIDENCE: readonly HostileEvidenceCase[] = [
  {
    name: 'a TPMS_ATTEST cut short (signed as it is)',
    expect: { submodule: 'identity', code: 'quote-malformed' },
    build: (tpm, c) => {
      const { bytes } = honestAttest(tpm, c);
      return signedRaw(tpm, c, bytes.subarray(0, bytes.length - 7));
    },
  },
  {
    name: 'a TPMS_ATTEST with trailing bytes',
    expect: { submodule: 'identity', code: 'quote-malformed' },
    build: (tpm, c) => signedRaw(tpm, c, Buffer.concat([honestAttest(tpm, c).bytes, Buffer.from([0, 0, 0, 0])])),
  },
  {
    name: 'a TPMS_ATTEST whose magic is not TPM_GENERATED_VALUE (external data signed by the AK)',
    expect: { submodule: 'identity', code: 'bad-magic' },
    build: (tpm, c) => {
      const { parts } = honestAttest(tpm, c);
      return signedRaw(tpm, c, marshal(TPMS_ATTEST, { ...parts.attest, magic: 0x12345678 }));
    },
  },
  {
    name: 'a valid TPMS_ATTEST of type TPM_ST_ATTEST_TIME instead of a quote',
    expect: { submodule: 'identity', code: 'not-a-quote' },
    build: (tpm, c) => {
      const { parts } = honestAttest(tpm, c);
      const time: TpmsAttest = {
        ...parts.attest,
        type: TPM_ST.ATTEST_TIME,
        attested: { time: { time: 5000n, clockInfo: parts.attest.clockInfo }, firmwareVersion: parts.attest.firmwareVersion },
      } as TpmsAttest;
      return signedRaw(tpm, c, marshal(TPMS_ATTEST, time));
    },
  },
  {
    name: 'a quote retagged TPM_ST_ATTEST_CERTIFY (its body then reads as a TPMS_CERTIFY_INFO)',
    expect: { submodule: 'identity', code: 'not-a-quote' },
    build: (tpm, c) => {
      const { bytes } = honestAttest(tpm, c);
      const retagged = Buffer.from(bytes);
      retagged.writeUInt16BE(TPM_ST.ATTEST_CERTIFY, 4);
      return signedRaw(tpm, c, retagged);
    },
  },
  {
    name: 'a TPMT_SIGNATURE tagged RSASSA for an ECC AK',
    expect: { submodule: 'identity', code: 'signature-key-mismatch' },
    build: (tpm, c) => {
      const e = simEvidence(tpm, c);
      const sig = marshal(TPMT_SIGNATURE, { sigAlg: TPM_ALG.RSASSA, signature: { hash: TPM_ALG.SHA256, sig: new Uint8Array(256) } });
      return { ...e, signature: b64(sig) };
    },
  },
  {
    name: 'a TPMT_SIGNATURE cut short',
    expect: { submodule: 'identity', code: 'malformed-signature' },
    build: (tpm, c) => {
      const e = simEvidence(tpm, c);
      const sig = Buffer.from(e.signature, 'base64');
      return { ...e, signature: b64(sig.subarray(0, sig.length - 5)) };
    },
  },
  {
    name: 'a quote whose extraData is not the challenge nonce',
    expect: { submodule: 'identity', code: 'nonce-mismatch' },
    build: (tpm, c) =>
      simEvidence(tpm, c, (p) => {
        p.attest = { ...p.attest, extraData: new Uint8Array(32).fill(7) };
      }),
  },
  {
    name: 'a quote over fewer PCRs than the challenge asked for',
    expect: { submodule: 'identity', code: 'pcr-selection-mismatch' },
    build: (tpm, c) => {
      const banks = Object.keys(c.pcrSelection) as Array<keyof typeof c.pcrSelection>;
      const bank = banks[0]!;
      const smaller = { ...c.pcrSelection, [bank]: c.pcrSelection[bank]!.slice(1) };
      return simEvidence(tpm, { ...c, pcrSelection: smaller });
    },
  },
  {
    name: 'PCR values that do not hash to the signed pcrDigest',
    expect: { submodule: 'identity', code: 'pcr-digest-mismatch' },
    build: (tpm, c) =>
      simEvidence(tpm, c, (p) => {
        const bank = p.pcrs.sha256!;
        const first = Object.keys(bank)[0]!;
        p.pcrs = { ...p.pcrs, sha256: { ...bank, [first]: 'ab'.repeat(32) } };
      }),
  },
  {
    name: 'values reported for a PCR the quote does not cover',
    expect: { submodule: 'identity', code: 'pcr-selection-mismatch' },
    build: (tpm, c) =>
      simEvidence(tpm, c, (p) => {
        p.pcrs = { ...p.pcrs, sha1: { '23': '00'.repeat(20) } };
      }),
  },
  {
    name: 'a TPML_PCR_SELECTION listing the same bank twice',
    expect: { submodule: 'identity', code: 'pcr-selection-mismatch' },
    build: (tpm, c) =>
      simEvidence(tpm, c, (p) => {
        const quote = p.attest.attested as { pcrSelect: Array<{ hash: number; pcrSelect: Uint8Array }>; pcrDigest: Uint8Array };
        const first = quote.pcrSelect[0]!;
        // The digest covers the bank twice, so only the duplicate is wrong.
        const values = Object.values(p.pcrs.sha256 ?? {}).map((v) => Buffer.from(v, 'hex'));
        const digest = createHash('sha256').update(Buffer.concat([...values, ...values])).digest();
        p.attest = { ...p.attest, attested: { pcrSelect: [first, { ...first }], pcrDigest: new Uint8Array(digest) } };
      }),
  },
  {
    name: 'a boot event log whose first event announces 2 GiB of data',
    expect: { submodule: 'boot', code: 'event-log-invalid' },
    build: (tpm, c) => withBootLog(tpm, c, eventLogWithLyingSize()),
  },
  {
    name: 'a boot event log that is a gzip bomb (64 MiB of zeros)',
    expect: { submodule: 'boot', code: 'event-log-invalid' },
    build: (tpm, c) => {
      const bomb = gzipBomb(64 * 1024 * 1024);
      const e = simEvidence(tpm, c);
      return { ...e, bootLog: { digest: '0'.repeat(64), blob: { encoding: 'gzip', data: b64(bomb) } } };
    },
  },
  {
    name: 'a model log chunk whose entry announces 4 GiB of template data',
    expect: { submodule: 'models', code: 'model-log-invalid' },
    build: (tpm, c) => {
      const e = simEvidence(tpm, c);
      return { ...e, modelLog: { format: 'ima-binary', offset: 0, count: 1, blob: { encoding: 'identity', data: b64(imaBinaryWithLyingSize(DEFAULT_MODEL_PCR)) } } };
    },
  },
  {
    name: 'a model log chunk that is a gzip bomb (64 MiB of zeros)',
    expect: { submodule: 'models', code: 'model-log-invalid' },
    build: (tpm, c) => {
      const e = simEvidence(tpm, c);
      return { ...e, modelLog: { format: 'ima-ascii', offset: 0, count: 1, blob: { encoding: 'gzip', data: b64(gzipBomb(64 * 1024 * 1024)) } } };
    },
  },
];
