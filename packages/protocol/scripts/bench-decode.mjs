// Micro-benchmark: decode of a typical ~200 KB evidence message (full boot
// log + IMA chunk, gzip, base64). Not part of `npm test` or bench/ yet.
// Run after `npx tsc -b packages/protocol`:  node packages/protocol/scripts/bench-decode.mjs
import { randomBytes, createHash } from 'node:crypto';
import { decodeEvidence, encodeEvidence, encodeBlob, randomId, ProtocolError } from '../dist/index.js';

const hex = (n) => randomBytes(n).toString('hex');
const pcrs = (size) => Object.fromEntries(Array.from({ length: 24 }, (_, i) => [String(i), hex(size)]));
// Incompressible bytes stand in for the compressed logs: the message size is what matters here.
const bootRaw = randomBytes(60 * 1024);
const imaLines = randomBytes(90 * 1024);
const evidence = {
  v: 1,
  challengeId: randomId(),
  quote: randomBytes(145).toString('base64'),
  signature: randomBytes(262).toString('base64'),
  pcrs: { sha1: pcrs(20), sha256: pcrs(32) },
  bootLog: { digest: createHash('sha256').update(bootRaw).digest('hex'), blob: encodeBlob(bootRaw, 'identity') },
  imaLog: { format: 'ima-ascii', offset: 0, count: 1400, blob: encodeBlob(imaLines, 'identity') },
  modelLog: { format: 'ima-ascii', offset: 0, count: 12, blob: encodeBlob(randomBytes(1500), 'identity') },
};
const payload = encodeEvidence(evidence);
// Steady state: boot log unchanged (digest only), a few new IMA lines.
const small = encodeEvidence({
  ...evidence,
  bootLog: { digest: evidence.bootLog.digest },
  imaLog: { format: 'ima-ascii', offset: 1400, count: 20, blob: encodeBlob(randomBytes(2000), 'identity') },
  modelLog: undefined,
});
const bad = Buffer.from(payload);
bad[bad.length - 40] = 0x21; // '!' inside the last base64 field: fails schema late

function run(label, buf, n) {
  for (let i = 0; i < 200; i++) decodeEvidence(buf);
  const t0 = process.hrtime.bigint();
  let last;
  for (let i = 0; i < n; i++) last = decodeEvidence(buf);
  const ns = Number(process.hrtime.bigint() - t0) / n;
  const ok = !(last instanceof ProtocolError);
  console.log(`${label}: ${(ns / 1000).toFixed(1)} µs/message, ${(1e9 / ns).toFixed(0)} messages/s, ${((buf.length * 1e9) / ns / 2 ** 20).toFixed(0)} MiB/s (${ok ? 'accepted' : 'refused: ' + last.reason})`);
}
console.log(`evidence payload: ${payload.length} bytes`);
run('valid evidence', payload, 2000);
console.log(`steady-state evidence payload: ${small.length} bytes`);
run('steady-state evidence', small, 20000);
run('invalid evidence (bad base64 near the end)', bad, 2000);
