// Benchmark `revocation`: how long from the moment failing evidence reaches
// the server to the device being cut off — its live MQTT session closed and
// the signed revocation event published on vigil/v1/fleet/revocations —
// p50/p99 over 1,000 runs (20 with --quick), one device at a time.
//
// Everything is real except the TPM: the server runs in-process (store,
// mutual-TLS broker, verifier, revocation service), each device is enrolled
// in the store with a certificate from the fleet CA and connects over TLS
// 1.3 with it, receives its challenge, and answers with evidence that a
// SIMULATED TPM signed (a software AK making genuine TPMS_ATTEST and
// TPMT_SIGNATURE structures) and that passes the identity and boot checks
// but shows a model the allowlist does not know: the whole pipeline runs,
// the verdict is contraindicated, the device is revoked. "Arrival" is when
// the broker hands the evidence to the server's handlers; the end is the
// later of the device seeing its connection closed and a relying party
// (another client) receiving the fleet event, all on one clock.
import { execFile } from 'node:child_process';
import { createHash, randomBytes, sign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, type MqttClient } from 'mqtt';
import { modelMeasurement } from '@vigil/evidence';
import { decodeChallenge, decodeRevocation, encodeEvidence, encodeBlob, ProtocolError, topics, type AttestationChallenge, type Evidence } from '@vigil/protocol';
import {
  generateKeyPair,
  AK_TEMPLATE_ECC,
  encodePublicBlob,
  marshal,
  objectName,
  TPM_ALG,
  TPM_ECC,
  TPM_GENERATED_VALUE,
  TPM_ST,
  TPMS_ATTEST,
  TPMT_SIGNATURE,
  type TpmtPublic,
} from '@vigil/tpm2-ts';
import { dataDir, generateEnrollmentToken, hashEnrollmentToken, startVigilServer, type RunningServer } from '@vigil/server';
import type { Benchmark, BenchOptions } from './registry.js';

const run = promisify(execFile);
const SERVER_CLI = fileURLToPath(new URL('../../server/dist/cli/vigil-server.cjs', import.meta.url));
const MODEL_PCR = 13;
const DEFAULT_PCRS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14];

/** A simulated AK: ECDSA P-256 in software, with the TPM public area an AK of that kind has. */
function simulatedAk() {
  const { publicKey, privateKey } = generateKeyPair({ type: 'ec', namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const pub: TpmtPublic = {
    ...AK_TEMPLATE_ECC,
    parameters: { ...(AK_TEMPLATE_ECC.parameters as object), curveID: TPM_ECC.NIST_P256, scheme: { scheme: TPM_ALG.ECDSA, details: { hashAlg: TPM_ALG.SHA256 } } } as TpmtPublic['parameters'],
    unique: { x: new Uint8Array(Buffer.from(jwk.x!, 'base64url')), y: new Uint8Array(Buffer.from(jwk.y!, 'base64url')) },
  };
  return { public: pub, tpm2b: encodePublicBlob(pub), name: Buffer.from(objectName(pub)).toString('hex'), privateKey };
}
type SimulatedAk = ReturnType<typeof simulatedAk>;

/** Evidence for `challenge` as a TPM would make it, with a model log naming a model nobody allowed. */
function failingEvidence(ak: SimulatedAk, challenge: AttestationChallenge): Evidence {
  const model = modelMeasurement('/opt/models/unknown.onnx', randomBytes(32).toString('hex'), MODEL_PCR);
  const pcrs: Record<string, string> = {};
  const selected = challenge.pcrSelection.sha256 ?? [];
  for (const p of selected) pcrs[String(p)] = p === MODEL_PCR ? createHash('sha256').update(Buffer.alloc(32)).update(model.extend.sha256).digest('hex') : '00'.repeat(32);
  const digest = createHash('sha256');
  for (const p of [...selected].sort((x, y) => x - y)) digest.update(Buffer.from(pcrs[String(p)]!, 'hex'));
  const sel = new Uint8Array(3);
  for (const p of selected) sel[p >> 3]! |= 1 << (p & 7);
  const attest = marshal(TPMS_ATTEST, {
    magic: TPM_GENERATED_VALUE,
    type: TPM_ST.ATTEST_QUOTE,
    qualifiedSigner: Uint8Array.from([0x00, 0x0b, ...randomBytes(32)]),
    extraData: Buffer.from(challenge.nonce, 'hex'),
    clockInfo: { clock: 1_000_000n, resetCount: 1, restartCount: 0, safe: true },
    firmwareVersion: 0x2019102300163636n,
    attested: { pcrSelect: [{ hash: TPM_ALG.SHA256, pcrSelect: sel }], pcrDigest: new Uint8Array(digest.digest()) },
  });
  const raw = sign('sha256', attest, { key: ak.privateKey, dsaEncoding: 'ieee-p1363' });
  const signature = marshal(TPMT_SIGNATURE, { sigAlg: TPM_ALG.ECDSA, signature: { hash: TPM_ALG.SHA256, signatureR: raw.subarray(0, 32), signatureS: raw.subarray(32) } });
  return {
    v: 1,
    challengeId: challenge.challengeId,
    quote: Buffer.from(attest).toString('base64'),
    signature: Buffer.from(signature).toString('base64'),
    pcrs: { sha256: pcrs },
    modelLog: { format: 'ima-ascii', offset: 0, count: 1, blob: encodeBlob(Buffer.from(`${model.line}\n`), 'identity') },
  };
}

function connectDevice(port: number, caPem: string, certPem: string, keyPem: string, clientId: string): Promise<MqttClient> {
  const client = connect({ protocol: 'mqtts', host: '127.0.0.1', servername: 'localhost', port, protocolVersion: 4, clientId, ca: caPem, cert: certPem, key: keyPem, rejectUnauthorized: true, reconnectPeriod: 0 });
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', reject);
  });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const revocationBenchmark: Benchmark = {
  description: 'revocation latency: failing evidence arrives → session closed and signed revocation event published (p50/p99)',
  async run(options: BenchOptions): Promise<Record<string, unknown>> {
    const runs = options.quick ? 20 : 1000;
    const root = await mkdtemp(join(tmpdir(), 'vigil-bench-revocation-'));
    let server: RunningServer | undefined;
    const clients: MqttClient[] = [];
    try {
      const paths = dataDir(join(root, 'data'));
      await run(process.execPath, [SERVER_CLI, 'init', '--data', paths.root, '--san', 'localhost'], { env: { ...process.env, VIGIL_PKI_CA_KEY_BITS: '2048' } });
      // Something must be on the model allowlist for an unknown model to count against a device.
      await run(process.execPath, [SERVER_CLI, 'models', 'allow', 'detector.onnx', randomBytes(32).toString('hex'), '--data', paths.root]);
      server = await startVigilServer({
        paths,
        overrides: [
          { path: 'listen.host', value: '127.0.0.1', flag: 'bench' },
          { path: 'listen.port', value: 0, flag: 'bench' },
          { path: 'attestation.intervalSeconds', value: 3600, flag: 'bench' },
          { path: 'log.level', value: 'error', flag: 'bench' },
        ],
      });
      const { store, ca, broker } = server.context;
      const caPem = ca.certificatePem;
            const ak = simulatedAk();
      const tlsKey = generateKeyPair({ type: 'rsa', modulusLength: 2048 }).privateKey;
      const tlsKeyPem = tlsKey.export({ type: 'pkcs8', format: 'pem' }).toString();

      const observerCert = ca.issueDeviceCertificate({ publicKey: tlsKey, deviceId: 'bench-observer' });
      const observer = await connectDevice(server.port, caPem, observerCert.pem, tlsKeyPem, 'bench-observer');
      clients.push(observer);
      const eventSeen = new Map<string, (t: number) => void>();
      observer.on('message', (_topic, payload) => {
        const t = performance.now();
        const e = decodeRevocation(payload);
        if (!(e instanceof ProtocolError)) eventSeen.get(e.deviceId)?.(t);
      });
      await observer.subscribeAsync(topics.fleetRevocations, { qos: 1 });

      const arrived = new Map<string, number>();
      broker.onMessage((m) => {
        if (m.identity.kind === 'device' && m.topic.endsWith('/evidence')) arrived.set(m.identity.deviceId, performance.now());
      });

      const latencies: number[] = [];
      const verdictLatencies: number[] = [];
      for (let i = 0; i < runs; i++) {
        const deviceId = `sim-${i}`;
        const token = generateEnrollmentToken();
        await store.createToken({ hash: hashEnrollmentToken(token), maxUses: 1, expiresAt: Date.now() + 3_600_000, actor: 'bench' });
        const cert = ca.issueDeviceCertificate({ publicKey: tlsKey, deviceId });
        const enrolled = await store.enrollDevice({
          tokenHash: hashEnrollmentToken(token),
          device: {
            id: deviceId,
            ekPublic: randomBytes(64),
            ekName: '000b' + randomBytes(32).toString('hex'),
            akPublic: ak.tpm2b,
            akName: ak.name,
            facts: { hostname: deviceId, os: 'simulated', arch: 'x64', agentVersion: 'bench', tpm: { manufacturer: 'SIM', firmwareVersion: '0' } },
          },
          certificate: { serial: cert.serial, notBefore: cert.notBefore.getTime(), notAfter: cert.notAfter.getTime(), pem: cert.pem },
          actor: 'bench',
        });
        if (!enrolled.ok) throw new Error(`enrollment of ${deviceId} refused: ${enrolled.reason}`);

        const client = await connectDevice(server.port, caPem, cert.pem, tlsKeyPem, deviceId);
        const challenge = new Promise<AttestationChallenge>((resolve) => {
          client.on('message', (topic, payload) => {
            if (topic !== topics.deviceChallenge(deviceId)) return;
            const c = decodeChallenge(payload);
            if (!(c instanceof ProtocolError)) resolve(c);
          });
        });
        const verdict = new Promise<number>((resolve) => client.on('message', (topic) => topic === topics.deviceResult(deviceId) && resolve(performance.now())));
        const closed = new Promise<number>((resolve) => client.once('close', () => resolve(performance.now())));
        const event = new Promise<number>((resolve) => eventSeen.set(deviceId, resolve));
        await client.subscribeAsync(topics.deviceResult(deviceId), { qos: 1 });
        await client.subscribeAsync(topics.deviceChallenge(deviceId), { qos: 1 }); // the server challenges it now
        const payload = encodeEvidence(failingEvidence(ak, await challenge));
        client.publish(topics.deviceEvidence(deviceId), Buffer.from(payload), { qos: 0 });
        // The verdict is published before the session is closed; should it be lost with the connection, it is not counted.
        const verdictOrNone = Promise.race([verdict, closed.then(() => new Promise<number>((r) => setTimeout(() => r(Number.NaN), 200)))]);
        const [closedAt, eventAt, verdictAt] = await Promise.all([closed, event, verdictOrNone]);
        const t0 = arrived.get(deviceId)!;
        latencies.push(Math.max(closedAt, eventAt) - t0);
        if (Number.isFinite(verdictAt)) verdictLatencies.push(verdictAt - t0);
        eventSeen.delete(deviceId);
        arrived.delete(deviceId);
        client.end(true);
        if (!options.quick && (i + 1) % 100 === 0) process.stdout.write(`  ${i + 1}/${runs} revocations\n`);
      }

      const sorted = [...latencies].sort((x, y) => x - y);
      const verdicts = [...verdictLatencies].sort((x, y) => x - y);
      const round = (ms: number) => Math.round(ms * 1000) / 1000;
      const result = {
        runs,
        p50_ms: round(percentile(sorted, 50)),
        p99_ms: round(percentile(sorted, 99)),
        max_ms: round(sorted.at(-1)!),
        mean_ms: round(sorted.reduce((s, x) => s + x, 0) / sorted.length),
        verdict_p50_ms: verdicts.length > 0 ? round(percentile(verdicts, 50)) : null,
        verdict_p99_ms: verdicts.length > 0 ? round(percentile(verdicts, 99)) : null,
        simulated_tpm: true,
      };
      process.stdout.write(
        `revocation latency over ${runs} runs: p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms, max ${result.max_ms} ms` +
          ` (verdict published: p50 ${result.verdict_p50_ms} ms, p99 ${result.verdict_p99_ms} ms)\n`,
      );
      return result;
    } finally {
      for (const c of clients) c.end(true);
      await server?.stop();
      await rm(root, { recursive: true, force: true });
    }
  },
};
