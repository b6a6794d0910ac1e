/**
 * Fuzz targets: every parser that reads bytes an attacker controls, each
 * wrapped so that the only way it "fails" is a bug. A target accepts any
 * input, and may refuse it only with its own typed error (a
 * `TpmUnmarshalError`, `EventLogParseError`, `ImaParseError`,
 * `ProtocolError`, `PolicyError`, ...); anything else that escapes — a
 * TypeError, a RangeError from a lying size field, an out-of-memory from a
 * huge allocation — is thrown on as a `FuzzFinding`.
 *
 * The same targets run twice: briefly, with fast-check, in `npm test`
 * (test/adversarial-parsers.test.ts), and for as long as you like with the
 * coverage-guided loop of `npm run fuzz -- <target> [--seconds N]`
 * (fuzz/engine.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { EventLogParseError, ImaParseError, parseEventLog, parseImaLog, serializeImaBinary } from '@vigil/evidence';
import { codecs, decodeBlob, encodeBlob, ProtocolError, type MessageCodec, type TopicKind } from '@vigil/protocol';
import {
  AK_TEMPLATE_ECC,
  AK_TEMPLATE_RSA,
  TPM2B_PUBLIC,
  TPMT_SIGNATURE,
  TPM_ALG,
  TPM_GENERATED_VALUE,
  TPM_ST,
  TPMS_ATTEST,
  TpmAttestError,
  TpmPublicKeyError,
  TpmUnmarshalError,
  marshal,
  parsePublicKey,
  parseQuoteAttest,
  unmarshal,
} from '@vigil/tpm2-ts';
import { PolicyError } from '../server/src/policy/errors.js';
import { policyFromReplay } from '../server/src/policy/import/replay.js';
import { policyFromTpm2Eventlog } from '../server/src/policy/import/tpm2-eventlog.js';
import { parsePolicyDocument } from '../server/src/policy/parse.js';
import { MeasurementChunkError, readMeasurementChunk } from '../server/src/verifier/logs/measurement-chunk.js';

/** An exception a parser must never throw on any input: a bug. */
export class FuzzFinding extends Error {
  constructor(
    readonly target: string,
    readonly input: Uint8Array,
    cause: unknown,
  ) {
    super(`${target}: ${cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)}`, { cause });
    this.name = 'FuzzFinding';
  }
}

export interface FuzzTarget {
  readonly name: string;
  readonly description: string;
  /** Valid (or nearly valid) inputs to start mutating from. */
  seeds(): Uint8Array[];
  /** Parses `input`; resolves whether it was accepted or refused with the expected error. */
  run(input: Uint8Array): void | Promise<void>;
}

const utf8 = new TextEncoder();
const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

/** Runs `parse`, letting through only errors of the given classes. */
function expecting(name: string, errors: ReadonlyArray<abstract new (...args: never[]) => Error>, parse: (input: Uint8Array) => unknown): FuzzTarget['run'] {
  return (input) => {
    try {
      const out = parse(input);
      if (out instanceof Promise) {
        return out.then(
          () => undefined,
          (err: unknown) => {
            if (!errors.some((E) => err instanceof E)) throw new FuzzFinding(name, input, err);
          },
        );
      }
    } catch (err) {
      if (!errors.some((E) => err instanceof E)) throw new FuzzFinding(name, input, err);
    }
    return undefined;
  };
}

const FIXTURES = join(import.meta.dirname, '..', '..', 'shared', 'fixtures', 'eventlogs');

function eventLogSeeds(): Uint8Array[] {
  let files: string[] = [];
  try {
    files = readdirSync(FIXTURES).filter((f) => f.endsWith('.bin'));
  } catch {
    // The fixtures live beside the repository; without them, a log made here.
  }
  const seeds = files.map((f) => new Uint8Array(readFileSync(join(FIXTURES, f))));
  // A SHA-1 format log of one event (TCG_PCR_EVENT: PCR, type, SHA-1 digest, size, data), little-endian.
  const event = Buffer.alloc(4 + 4 + 20 + 4 + 4);
  event.writeUInt32LE(0, 0);
  event.writeUInt32LE(0x8, 4);
  event.fill(1, 8, 28);
  event.writeUInt32LE(4, 28);
  event.write('seed', 32);
  seeds.push(new Uint8Array(event));
  // Large fixtures make every execution slow: keep the small ones first.
  return seeds.sort((a, b) => a.length - b.length);
}

function imaSeeds(): Uint8Array[] {
  const ascii = utf8.encode(
    '10 91f34b5c671d73504b274a919661cf80dab1e127 ima-ng sha1:1801e1be3e65ef1eaa5c16617bec8f1274eaf6b3 boot_aggregate\n' +
      '13 0000000000000000000000000000000000000000 ima-ng sha256:' + 'ab'.repeat(32) + ' /opt/models/detector.onnx\n',
  );
  const parsed = parseImaLog(ascii);
  return [ascii, serializeImaBinary(parsed)];
}

function attestSeed(): Uint8Array {
  return marshal(TPMS_ATTEST, {
    magic: TPM_GENERATED_VALUE,
    type: TPM_ST.ATTEST_QUOTE,
    qualifiedSigner: new Uint8Array(34).fill(0x0b),
    extraData: new Uint8Array(32).fill(7),
    clockInfo: { clock: 123456n, resetCount: 2, restartCount: 0, safe: true },
    firmwareVersion: 1n,
    attested: { pcrSelect: [{ hash: TPM_ALG.SHA256, pcrSelect: Uint8Array.from([0xff, 0x23, 0x00]) }], pcrDigest: new Uint8Array(32).fill(9) },
  });
}

function messageTarget(kind: TopicKind, seed: () => unknown): FuzzTarget {
  const codec = codecs[kind] as MessageCodec<unknown>;
  return {
    name: `message-${kind}`,
    description: `the ${kind} message codec (size limit, JSON depth and keys, schema)`,
    seeds: () => [utf8.encode(JSON.stringify(seed()))],
    run: (input) => {
      let out: unknown;
      try {
        out = codec.decode(input);
      } catch (err) {
        throw new FuzzFinding(`message-${kind}`, input, err);
      }
      if (!(out instanceof ProtocolError) && (typeof out !== 'object' || out === null)) throw new FuzzFinding(`message-${kind}`, input, new Error('decoded to a non-object'));
    },
  };
}

const b64 = (n: number): string => Buffer.alloc(n, 0x5a).toString('base64');

export const FUZZ_TARGETS: readonly FuzzTarget[] = [
  {
    name: 'tpm-attest',
    description: 'TPMS_ATTEST of a quote (magic, type, the TPMU_ATTEST union, TPM2B sizes)',
    seeds: () => [attestSeed()],
    run: expecting('tpm-attest', [TpmAttestError], parseQuoteAttest),
  },
  {
    name: 'tpm-signature',
    description: 'TPMT_SIGNATURE (the sigAlg-selected union)',
    seeds: () => [
      marshal(TPMT_SIGNATURE, { sigAlg: TPM_ALG.ECDSA, signature: { hash: TPM_ALG.SHA256, signatureR: new Uint8Array(32).fill(1), signatureS: new Uint8Array(32).fill(2) } }),
      marshal(TPMT_SIGNATURE, { sigAlg: TPM_ALG.RSASSA, signature: { hash: TPM_ALG.SHA256, sig: new Uint8Array(256).fill(3) } }),
    ],
    run: expecting('tpm-signature', [TpmUnmarshalError], (b) => unmarshal(TPMT_SIGNATURE, b)),
  },
  {
    name: 'tpm-public',
    description: 'an AK public area as enrollment receives it (TPM2B_PUBLIC, TPMT_PUBLIC, PEM, DER) to a key',
    seeds: () => [marshal(TPM2B_PUBLIC, { ...AK_TEMPLATE_RSA, unique: new Uint8Array(256).fill(0xc5) }), marshal(TPM2B_PUBLIC, { ...AK_TEMPLATE_ECC, unique: { x: new Uint8Array(32).fill(1), y: new Uint8Array(32).fill(2) } })],
    run: expecting('tpm-public', [TpmPublicKeyError], parsePublicKey),
  },
  {
    name: 'eventlog',
    description: 'the TCG PC Client boot event log (SHA-1 and crypto-agile), event data decoding',
    seeds: eventLogSeeds,
    run: expecting('eventlog', [EventLogParseError], (b) => parseEventLog(b)),
  },
  {
    name: 'ima',
    description: 'the IMA measurement list, ASCII and binary (ima, ima-ng, ima-sig templates)',
    seeds: imaSeeds,
    run: expecting('ima', [ImaParseError], (b) => parseImaLog(b)),
  },
  {
    name: 'model-log-chunk',
    description: "the verifier's reading of a model/IMA log chunk from evidence (gzip, format, declared count)",
    seeds: () => imaSeeds(),
    run: expecting('model-log-chunk', [MeasurementChunkError], async (b) => {
      await readMeasurementChunk({ format: b[0] !== undefined && b[0] >= 0x30 && b[0] <= 0x39 ? 'ima-ascii' : 'ima-binary', offset: 0, count: 8, blob: encodeBlob(b, 'gzip') }, 1 << 20);
    }),
  },
  {
    name: 'gzip-blob',
    description: 'a gzip blob from a message (corrupt streams, bombs past the limit)',
    seeds: () => [gzipSync(Buffer.alloc(4096, 1)), gzipSync(Buffer.alloc(1 << 20))],
    run: expecting('gzip-blob', [ProtocolError], (b) => decodeBlob({ encoding: 'gzip', data: Buffer.from(b).toString('base64') }, 64 * 1024)),
  },
  messageTarget('device-evidence', () => ({ v: 1, challengeId: 'AAAAAAAAAAAAAAAAAAAAAA', quote: b64(145), signature: b64(72), pcrs: { sha256: { '0': '00'.repeat(32) } } })),
  messageTarget('enroll-request', () => ({
    v: 1,
    token: 'vgl_' + 'A'.repeat(43),
    ekPublic: b64(314),
    akPublic: b64(282),
    facts: { hostname: 'h', os: 'o', arch: 'x64', agentVersion: '0', tpm: { manufacturer: 'IBM', firmwareVersion: '1' } },
  })),
  messageTarget('enroll-proof', () => ({ v: 1, sessionId: 'AAAAAAAAAAAAAAAAAAAAAA', proof: '00'.repeat(32) })),
  messageTarget('device-challenge-request', () => ({ v: 1, reason: 'manual' })),
  {
    name: 'policy-document',
    description: 'a policy document (JSON) an administrator imports',
    seeds: () => [utf8.encode(JSON.stringify({ v: 1, pcrs: { sha256: { '0': ['00'.repeat(32)] } }, onFailure: { boot: 'warning' } }))],
    run: expecting('policy-document', [PolicyError, SyntaxError], (b) => parsePolicyDocument(JSON.parse(text(b)) as unknown)),
  },
  {
    name: 'policy-tpm2-eventlog',
    description: 'tpm2_eventlog YAML output imported as golden values',
    seeds: () => [utf8.encode(`---\nversion: 1\nevents:\n  - EventNum: 0\n    PCRIndex: 4\n    EventType: EV_EFI_BOOT_SERVICES_APPLICATION\n    Digests:\n      - AlgorithmId: sha256\n        Digest: "${'ab'.repeat(32)}"\npcrs:\n  sha256:\n    0 : 0x${'00'.repeat(32)}\n    4 : 0x${'11'.repeat(32)}\n`)],
    run: expecting('policy-tpm2-eventlog', [PolicyError], (b) => policyFromTpm2Eventlog(text(b))),
  },
  {
    name: 'policy-replay',
    description: 'PCR replay JSON (vigil-agent eventlog replay --json) imported as golden values',
    seeds: () => [utf8.encode(JSON.stringify({ sha256: { '0': '00'.repeat(32), '7': '11'.repeat(32) } }))],
    run: expecting('policy-replay', [PolicyError], (b) => policyFromReplay(text(b))),
  },
];

export function fuzzTarget(name: string): FuzzTarget | undefined {
  return FUZZ_TARGETS.find((t) => t.name === name);
}
