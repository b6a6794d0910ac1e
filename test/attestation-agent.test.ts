/**
 * The agent's side of attestation on a real swtpm: the model measurement
 * log (extends, persistence, crash repair, TPM resets, a PCR extended behind
 * its back), the evidence builder (quote verifiable with the AK, boot log in
 * full or by digest or absent, log chunks from the challenge's offsets) and
 * the incremental IMA reader.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelMeasurement, parseImaLog, replayModelLog, serializeImaBinary } from '@vigil/evidence';
import { decodeBlob, randomId, type AttestationChallenge } from '@vigil/protocol';
import { checkQuote, pcrValuesFromJson, PCR_Extend, readPcrs, TPM_ALG, type Tpm } from '@vigil/tpm2-ts';
import { buildEvidence, EvidenceError, ImaLogReader, ModelMeasurementLog, MODEL_LOG_FILE, type EvidenceSession } from '../agent/src/attestation/index.js';
import { prepareAttestationKey, type AttestationKey } from '../agent/src/tpm/index.js';
import { BOOT_FIXTURE, readFixture } from './harness/boot-replay.js';
import { makeTempDir } from './harness/pki.js';
import { startSwtpm, type SwtpmInstance } from './harness/swtpm.js';

let swtpm: SwtpmInstance;
let tpm: Tpm;
let key: AttestationKey;
let tmp: { path: string; cleanup: () => Promise<void> };

async function pcr13(bank: 'sha1' | 'sha256' = 'sha256'): Promise<string> {
  const alg = bank === 'sha1' ? TPM_ALG.SHA1 : TPM_ALG.SHA256;
  const { values } = await readPcrs(tpm, [{ hashAlg: alg, pcrs: [13] }]);
  return Buffer.from(values.get(alg)!.get(13)!).toString('hex');
}

function replayed(entries: Array<{ path: string; digest: string }>, bank: 'sha1' | 'sha256'): string {
  let v = Buffer.alloc(bank === 'sha1' ? 20 : 32);
  for (const e of entries) v = createHash(bank).update(v).update(modelMeasurement(e.path, e.digest).extend[bank]).digest();
  return v.toString('hex');
}

function challenge(over: Partial<AttestationChallenge> = {}): AttestationChallenge {
  return {
    v: 1,
    challengeId: randomId(),
    nonce: randomBytes(32).toString('hex'),
    pcrSelection: { sha256: [0, 1, 2, 3, 4, 5, 6, 7, 13] },
    offsets: { imaEntries: 0, modelEntries: 0 },
    expiresAt: Date.now() + 30_000,
    ...over,
  };
}

beforeAll(async () => {
  swtpm = await startSwtpm();
  tpm = swtpm.connect();
  key = await prepareAttestationKey(tpm, 'rsa');
  tmp = await makeTempDir('vigil-agent-attest-');
});
afterAll(async () => {
  await key?.release().catch(() => undefined);
  await tpm?.close();
  await swtpm?.stop();
  await tmp?.cleanup();
});

describe('ModelMeasurementLog', () => {
  const stateDir = () => join(tmp.path, 'state');
  const model = () => join(tmp.path, 'model.bin');

  it('measures a file once, extends the model PCR in both banks exactly as the log replays, and keeps the log 0600', async () => {
    await writeFile(model(), randomBytes(50_000));
    const log = await ModelMeasurementLog.open(tpm, stateDir());
    expect(log.length).toBe(0);
    const added = await log.measureModels([model()]);
    expect(added).toHaveLength(1);
    const digest = createHash('sha256').update(await readFile(model())).digest('hex');
    expect(added[0]).toMatchObject({ path: model(), digest, pcr: 13 });
    expect(await pcr13('sha256')).toBe(replayed([{ path: model(), digest }], 'sha256'));
    expect(await pcr13('sha1')).toBe(replayed([{ path: model(), digest }], 'sha1'));
    expect(((await stat(join(stateDir(), MODEL_LOG_FILE))).mode & 0o777).toString(8)).toBe('600');
    // Unchanged: nothing new is measured.
    expect(await log.measureModels([model()])).toEqual([]);
    // The log's lines replay (independently, @vigil/evidence) to the PCR.
    const replay = await replayModelLog(Buffer.from(log.linesFrom(0).text));
    expect(replay.pcrs['sha256']?.['13']).toBe(await pcr13());
  });

  it('measures a changed file again, keeps the log across reopening, and repairs an entry written but not extended', async () => {
    await writeFile(model(), randomBytes(50_000));
    let log = await ModelMeasurementLog.open(tpm, stateDir());
    expect(log.length).toBe(1);
    expect(await log.measureModels([model()])).toHaveLength(1);
    expect(log.length).toBe(2);
    // A crash between writing the entry and extending it: the log is one ahead of the PCR.
    const file = join(stateDir(), MODEL_LOG_FILE);
    const saved = JSON.parse(await readFile(file, 'utf8')) as { entries: Array<{ path: string; digest: string }> };
    saved.entries.push({ path: '/opt/late.onnx', digest: 'ab'.repeat(32) });
    await writeFile(file, JSON.stringify(saved));
    log = await ModelMeasurementLog.open(tpm, stateDir());
    expect(log.length).toBe(3);
    expect(await pcr13()).toBe(replayed(saved.entries, 'sha256'));
  });

  it('refuses a model PCR that holds more than the log shows', async () => {
    await tpm.execute(PCR_Extend, { pcrHandle: 13, digests: [{ hashAlg: TPM_ALG.SHA256, digest: randomBytes(32) }] });
    await expect(ModelMeasurementLog.open(tpm, stateDir())).rejects.toMatchObject({ code: 'model-pcr-mismatch' });
    await expect(ModelMeasurementLog.open(tpm, stateDir())).rejects.toBeInstanceOf(EvidenceError);
    // Only a reboot clears it.
    await key.release();
    await swtpm.powerCycle(tpm);
    key = await prepareAttestationKey(tpm, 'rsa');
  });

  it('after a TPM reset the log restarts and the models are measured again', async () => {
    const log = await ModelMeasurementLog.open(tpm, join(tmp.path, 'state-2'));
    await log.measureModels([model()]);
    const before = log.resetCount;
    await key.release();
    await swtpm.powerCycle(tpm);
    key = await prepareAttestationKey(tpm, 'rsa');
    // Another log of an earlier boot, opened now, starts afresh.
    expect((await ModelMeasurementLog.open(tpm, join(tmp.path, 'state'))).length).toBe(0);
    expect(await log.followTpm()).toBe('reset');
    expect(log.length).toBe(0);
    expect(log.resetCount).toBe(before + 1);
    await log.measureModels([model()]);
    expect(log.length).toBe(1);
    expect(await log.followTpm()).toBeUndefined();
  });
});

describe('buildEvidence', () => {
  it('a quote over the challenge’s PCRs and nonce that the AK verifies, with the values it signed', async () => {
    const c = challenge();
    const { evidence, report } = await buildEvidence(c, { tpm, ak: key.ak, bootLogPath: null, imaLog: null });
    const check = checkQuote({
      akPublic: key.ak.public,
      attest: Buffer.from(evidence.quote, 'base64'),
      signature: Buffer.from(evidence.signature, 'base64'),
      nonce: Buffer.from(c.nonce, 'hex'),
      pcrValues: pcrValuesFromJson(evidence.pcrs),
    });
    expect(check.ok).toBe(true);
    expect(Object.keys(evidence.pcrs.sha256!)).toHaveLength(9);
    expect(report).toMatchObject({ bootLog: 'absent', imaEntries: null, modelEntries: null });
    expect(evidence.bootLog).toBeUndefined();
  });

  it('sends the boot log in full (compressed), by digest when the server names it, and reports it absent', async () => {
    const fixture = await readFixture(BOOT_FIXTURE);
    const digest = createHash('sha256').update(fixture).digest('hex');
    const full = await buildEvidence(challenge(), { tpm, ak: key.ak, bootLogPath: BOOT_FIXTURE, imaLog: null });
    expect(full.report.bootLog).toBe('sent');
    expect(full.evidence.bootLog?.digest).toBe(digest);
    expect(full.evidence.bootLog?.blob?.encoding).toBe('gzip');
    expect(Buffer.from(decodeBlob(full.evidence.bootLog!.blob!, 1 << 24))).toEqual(Buffer.from(fixture));
    const known = await buildEvidence(challenge({ offsets: { imaEntries: 0, modelEntries: 0, bootLogDigest: digest } }), { tpm, ak: key.ak, bootLogPath: BOOT_FIXTURE, imaLog: null });
    expect(known.report.bootLog).toBe('by-digest');
    expect(known.evidence.bootLog).toEqual({ digest });
    const none = await buildEvidence(challenge(), { tpm, ak: key.ak, bootLogPath: join(tmp.path, 'no-such-log'), imaLog: null });
    expect(none.report.bootLog).toBe('absent');
  });

  it('sends the model log from the server’s offset, from 0 when the offset is past its end or the TPM rebooted', async () => {
    // The log of this boot (the model PCR holds its measurements), with three more files measured.
    const log = await ModelMeasurementLog.open(tpm, join(tmp.path, 'state-2'));
    expect(log.length).toBe(1);
    const files = [join(tmp.path, 'm1'), join(tmp.path, 'm2'), join(tmp.path, 'm3')];
    for (const f of files) await writeFile(f, randomBytes(1000));
    await log.measureModels(files);
    const session: EvidenceSession = {};
    const sources = { tpm, ak: key.ak, bootLogPath: null, imaLog: null, modelLog: log, session };
    let built = await buildEvidence(challenge({ offsets: { imaEntries: 0, modelEntries: 2 } }), sources);
    expect(built.evidence.modelLog).toMatchObject({ format: 'ima-ascii', offset: 2, count: 2 });
    expect(Buffer.from(decodeBlob(built.evidence.modelLog!.blob, 1 << 20)).toString()).toBe(log.linesFrom(2).text);
    built = await buildEvidence(challenge({ offsets: { imaEntries: 0, modelEntries: 9 } }), sources);
    expect(built.evidence.modelLog).toMatchObject({ offset: 0, count: 4 });
    // A reboot since the last evidence: whatever the offsets say, the logs restart.
    session.resetCount = log.resetCount - 1;
    const fixture = await readFixture(BOOT_FIXTURE);
    built = await buildEvidence(
      challenge({ offsets: { imaEntries: 0, modelEntries: 2, bootLogDigest: createHash('sha256').update(fixture).digest('hex') } }),
      { ...sources, bootLogPath: BOOT_FIXTURE },
    );
    expect(built.evidence.modelLog).toMatchObject({ offset: 0, count: 4 });
    expect(built.report.bootLog).toBe('sent');
    expect(session.resetCount).toBe(log.resetCount);
  });
});

describe('ImaLogReader', () => {
  it('reads from any entry offset, continues from where the server left off without re-reading, caps a slice at whole entries', async () => {
    const lines = Array.from({ length: 40 }, (_, i) => `10 ${'0'.repeat(40)} ima-ng sha256:${randomBytes(32).toString('hex')} /usr/lib/lib${i}.so`);
    const entries = parseImaLog(Buffer.from(lines.join('\n') + '\n'), { format: 'ascii' }).map((e) => ({ ...e, templateHash: createHash('sha1').update(e.templateData!).digest() }));
    const file = join(tmp.path, 'binary_runtime_measurements');
    const bytes = serializeImaBinary(entries);
    await writeFile(file, bytes);
    const reader = new ImaLogReader(file);
    const all = (await reader.read(0, 1 << 20))!;
    expect(all).toMatchObject({ offset: 0, count: 40, total: 40 });
    expect(Buffer.from(all.bytes)).toEqual(Buffer.from(bytes));
    const mid = (await reader.read(25, 1 << 20))!;
    expect(mid).toMatchObject({ offset: 25, count: 15 });
    expect(Buffer.from(mid.bytes)).toEqual(Buffer.from(serializeImaBinary(entries.slice(25))));
    // A cap of ~10 entries' worth of bytes: whole entries only.
    const capped = (await reader.read(0, Math.floor((bytes.length / 40) * 10.5)))!;
    expect(capped.count).toBe(10);
    expect(parseImaLog(capped.bytes, { format: 'binary' })).toHaveLength(10);
    // Past the end (the list restarted at a reboot): from the start.
    expect((await reader.read(100, 1 << 20))!).toMatchObject({ offset: 0, count: 40 });
    expect(await new ImaLogReader(join(tmp.path, 'no-ima')).read(0, 1024)).toBeUndefined();
  });
});
