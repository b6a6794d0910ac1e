// Benchmark `floor`: the physical floor of verification throughput on this
// machine — a closed loop doing only the irreducible work of one verdict,
// in Node.js, in the real benchmark's process layout (the server in one
// process, every device in another, both single-threaded apart from the
// server's signature checks on libuv's pool):
//
//   device → server  challenge request            (one record, the size of the real MQTT PUBLISH)
//   server           fresh 32-byte nonce, kept for the connection
//   server → device  challenge                    (one record, real size)
//   device           145-byte TPMS_ATTEST of a quote of the nonce, ECDSA P-256 signature
//   device → server  evidence                     (one record, real steady-state size)
//   server           nonce check, crypto.verify (callback form), result
//   server → device  result                       (one record, real size)
//
// No MQTT, no JSON, no database, no policy: frames of a 4-byte length and
// a body padded to the size of the real message (floor/wire-sizes.ts says
// where the sizes come from). Variants: `tls` (the floor: mutual TLS 1.3),
// `tcp` (the same over plain TCP: what TLS costs), `tls-nocrypto` (no
// signature or verification: what ECDSA costs). Then a ladder of what the
// design prescribes on top, each rung done the least a conforming server
// can: `mqtt` (the server's real broker, the design's topics), `mqtt-json`
// (the protocol's JSON messages through its schemas), `mqtt-json-sqlite`
// (each verdict stored before it is published). Bare crypto.sign and
// crypto.verify rates on one core are measured in the same run.
// floor/README.md has the whole account.
import { loadavg } from 'node:os';
import { encodeChallenge, encodeResult, randomId } from '@vigil/protocol';
import { makeFloorCredentials } from './floor/credentials.js';
import { LADDER_REQUEST, ladderChallenge, ladderEvidence, ladderResult } from './floor/ladder-messages.js';
import { rawSignRate } from './floor/raw-sign.js';
import { runVariant, type VariantResult } from './floor/rig.js';
import { parseVariants, VARIANT_TRAITS, type FloorVariant } from './floor/variant.js';
import { formatWindow } from './floor/window.js';
import { WIRE_SIZES } from './floor/wire-sizes.js';
import { numberArg, type Benchmark, type BenchOptions } from './registry.js';
import { rawVerifyRate } from './verify.js';

/** Connections a second while the devices connect (the handshakes are not measured, the steady state is). */
const CONNECT_PER_SECOND = 200;
/** TLS 1.3 record overhead with AES-GCM: 5-byte header, 1-byte inner content type, 16-byte tag (RFC 8446 §5.2). */
const TLS_RECORD_OVERHEAD = 22;

export const floorBenchmark: Benchmark = {
  description:
    'the physical floor: verdicts/s of a closed loop doing only the irreducible work (nonce, ECDSA-signed quote, verify, result; real message sizes) over mutual TLS, plain TCP and TLS without ECDSA, in the real process layout; then the design\'s MQTT broker, JSON messages and SQLite record added one at a time',
  options: {
    variants: 'comma-separated: tls (the floor), tcp (no TLS), tls-nocrypto (no sign/verify), mqtt (+ the real broker), mqtt-json (+ the JSON messages), mqtt-json-sqlite (+ each verdict stored); default all six',
    devices: 'simulated devices, one connection each (default 400)',
    window: 'seconds of the measurement window per variant (default 8)',
    warmup: 'seconds of closed loop before each window (default 3)',
  },
  async run(options: BenchOptions): Promise<Record<string, unknown>> {
    const log = (s: string) => process.stdout.write(s);
    const variants = parseVariants(options.args.get('variants'));
    const devices = Math.round(numberArg(options, 'devices', options.quick ? 20 : 400));
    const windowSeconds = numberArg(options, 'window', options.quick ? 0.5 : 8);
    const warmupSeconds = numberArg(options, 'warmup', options.quick ? 0.3 : 3);
    if (devices < 1) throw new RangeError('--devices must be at least 1');
    if (windowSeconds <= 0) throw new RangeError('--window must be above 0');
    log(`  load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
    log(
      `  frames padded to the real messages: request ${WIRE_SIZES.request} B, challenge ${WIRE_SIZES.challenge} B, evidence ${WIRE_SIZES.evidence} B, result ${WIRE_SIZES.result} B` +
        ` (+${TLS_RECORD_OVERHEAD} B a TLS record)\n`,
    );

    if (variants.some((v) => VARIANT_TRAITS[v].json)) {
      const j = jsonPayloadBytes();
      log(`  JSON payloads of the ladder: request ${j['request']} B, challenge ${j['challenge']} B, evidence ${j['evidence']} B, result ${j['result']} B (+ topic and header)\n`);
    }

    // On the quiet machine, before any child runs.
    const rawSeconds = options.quick ? 0.25 : 3;
    const rawVerify = rawVerifyRate('ecc', rawSeconds);
    const rawSign = rawSignRate(rawSeconds);
    log(`  raw crypto.verify (ECDSA P-256, SHA-256), one core: ${Math.round(rawVerify)}/s; raw crypto.sign: ${Math.round(rawSign)}/s\n`);

    const credentials = await makeFloorCredentials(
      devices,
      variants.some((v) => VARIANT_TRAITS[v].tls),
    );
    const results: Partial<Record<FloorVariant, VariantResult>> = {};
    for (const variant of variants) {
      const result = await runVariant({ variant, credentials, sizes: WIRE_SIZES, connectPerSecond: CONNECT_PER_SECOND, warmupSeconds, windowSeconds });
      results[variant] = result;
      log(formatWindow(`floor ${variant}`, result));
    }

    const tls = results.tls;
    const tcp = results.tcp;
    const nocrypto = results['tls-nocrypto'];
    const difference = (
      a: VariantResult | undefined,
      b: VariantResult | undefined,
      key: 'server_cpu_us_per_verdict' | 'server_loop_us_per_verdict' | 'load_cpu_us_per_verdict',
    ) => (a !== undefined && b !== undefined ? a[key] - b[key] : null);
    // Each rung of the ladder against the one below it: what that part of the design costs per verdict at its least.
    const rung = (upper: FloorVariant, lower: FloorVariant) => {
      const [a, b] = [results[upper], results[lower]];
      return {
        server: difference(a, b, 'server_cpu_us_per_verdict'),
        server_loop: difference(a, b, 'server_loop_us_per_verdict'),
        load: difference(a, b, 'load_cpu_us_per_verdict'),
      };
    };
    const top = results['mqtt-json-sqlite'];
    const result = {
      variants: results,
      floor_verdicts_per_s: tls?.verdicts_per_s ?? null,
      floor_p50_ms: tls?.p50_ms ?? null,
      floor_p99_ms: tls?.p99_ms ?? null,
      floor_server_cpu_us_per_verdict: tls?.server_cpu_us_per_verdict ?? null,
      floor_load_cpu_us_per_verdict: tls?.load_cpu_us_per_verdict ?? null,
      // If the two processes' CPU per verdict could use both cores to the full with nothing lost to waiting.
      floor_two_core_bound_per_s: tls !== undefined ? Math.round(2e6 / (tls.server_cpu_us_per_verdict + tls.load_cpu_us_per_verdict)) : null,
      // What each layer costs per verdict, from the differences between the variants.
      tls_cost_us_per_verdict: { server: difference(tls, tcp, 'server_cpu_us_per_verdict'), load: difference(tls, tcp, 'load_cpu_us_per_verdict') },
      ecdsa_cost_us_per_verdict: { server: difference(tls, nocrypto, 'server_cpu_us_per_verdict'), load: difference(tls, nocrypto, 'load_cpu_us_per_verdict') },
      ladder_cost_us_per_verdict: { mqtt: rung('mqtt', 'tls'), json: rung('mqtt-json', 'mqtt'), sqlite: rung('mqtt-json-sqlite', 'mqtt-json') },
      // Everything the design prescribes, each part at its least: the most a conforming server could give here.
      design_floor_verdicts_per_s: top?.verdicts_per_s ?? null,
      design_floor_server_cpu_us_per_verdict: top?.server_cpu_us_per_verdict ?? null,
      design_floor_server_loop_us_per_verdict: top?.server_loop_us_per_verdict ?? null,
      sizes: {
        ...WIRE_SIZES,
        tls_record_overhead: TLS_RECORD_OVERHEAD,
        source: 'MQTT packets written in the closed loop of `verify --phases closed --swtpm 0 --devices 400` (bench/src/floor/wire-sizes.ts)',
      },
      json_payload_bytes: jsonPayloadBytes(),
      simulated_devices: devices,
      connect_per_s: CONNECT_PER_SECOND,
      raw_verify_per_s: Math.round(rawVerify),
      raw_sign_per_s: Math.round(rawSign),
    };
    if (tls !== undefined) {
      log(
        `floor: ${Math.round(tls.verdicts_per_s)} verdicts/s over mutual TLS (SIMULATED devices), p50 ${tls.p50_ms} ms, p99 ${tls.p99_ms} ms;` +
          ` server ${tls.server_cpu_us_per_verdict} µs + devices ${tls.load_cpu_us_per_verdict} µs of CPU per verdict (two-core bound ${result.floor_two_core_bound_per_s}/s);` +
          ` raw verify ${result.raw_verify_per_s}/s, raw sign ${result.raw_sign_per_s}/s${tcp !== undefined ? `; TLS costs ${result.tls_cost_us_per_verdict.server} + ${result.tls_cost_us_per_verdict.load} µs` : ''}` +
          `${nocrypto !== undefined ? `; ECDSA ${result.ecdsa_cost_us_per_verdict.server} + ${result.ecdsa_cost_us_per_verdict.load} µs` : ''}\n`,
      );
    }
    if (top !== undefined) {
      log(
        `design floor: ${Math.round(top.verdicts_per_s)} verdicts/s with the real broker, the JSON messages and each verdict stored;` +
          ` server ${top.server_cpu_us_per_verdict} µs (event loop ${top.server_loop_us_per_verdict}) + devices ${top.load_cpu_us_per_verdict} µs of CPU per verdict\n`,
      );
    }
    return result;
  },
};

/**
 * The JSON rungs' payload sizes, for a reader comparing them with the
 * binary frames' (`WIRE_SIZES` are whole packets; these are payloads, the
 * topic and 2-5 header bytes come on top). The quote is 145 bytes as the
 * floor's; an ECDSA P-256 TPMT_SIGNATURE is 72 (Part 2 §11.3.4).
 */
function jsonPayloadBytes(): Record<string, number> {
  const id = randomId();
  const nonce = new Uint8Array(32);
  const now = Date.now();
  return {
    request: JSON.stringify(LADDER_REQUEST).length,
    challenge: encodeChallenge(ladderChallenge(id, nonce, now)).length,
    evidence: JSON.stringify(ladderEvidence(id, new Uint8Array(145), new Uint8Array(72))).length,
    result: encodeResult(ladderResult('floor-100', id, Buffer.from(nonce).toString('hex'), now)).length,
  };
}
