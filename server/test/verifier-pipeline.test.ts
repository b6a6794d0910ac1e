/**
 * The verification pipeline step by step, on a real store, with quotes
 * signed in software: every refusal has its named reason, in the pipeline's
 * order, and hostile evidence never crashes it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventType, parseEventLog, replayEvents, serializeEventLog, serializeImaBinary, type ImaEntry } from '@vigil/evidence';
import { encodeBlob, encodeEvidence, type Evidence } from '@vigil/protocol';
import { softwareAk } from '../../packages/tpm2-ts/test/verify-software-quote.js';
import { REASON_CODES } from '../src/verifier/reasons.js';
import {
  appraise,
  challenge,
  enrollSimulated,
  evidence,
  findings,
  pipelineFixture,
  preparedPolicy,
  SimulatedModelLog,
  SimulatedTpm,
  type PipelineFixture,
} from './verifier-support.js';

const FIXTURE = join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures', 'eventlogs', 'go-attestation-ubuntu-2104-gce.bin');

let f: PipelineFixture;
let tpm: SimulatedTpm;
let deviceId: string;

beforeEach(async () => {
  f = await pipelineFixture();
  tpm = new SimulatedTpm();
  deviceId = await enrollSimulated(f.store, tpm);
});
afterEach(async () => {
  await f.close();
});

/** Boots the simulated TPM from the fixture log: every event's digests extended as the firmware did. */
async function bootFromFixture(t: SimulatedTpm): Promise<Buffer> {
  const bytes = await readFile(FIXTURE);
  for (const e of parseEventLog(bytes).events) {
    if (e.eventType === EventType.EV_NO_ACTION) continue;
    for (const d of e.digests) if (d.bank === 'sha1' || d.bank === 'sha256') t.extend(d.bank, e.pcrIndex, d.digest);
  }
  return bytes;
}

const bootLog = (bytes: Uint8Array, full = true) => ({
  digest: createHash('sha256').update(bytes).digest('hex'),
  ...(full ? { blob: encodeBlob(bytes, 'gzip') } : {}),
});

describe('a good device', () => {
  it('is affirming in every submodule, with the boot log, then by digest, and the model log continued from its offset', async () => {
    const log = await bootFromFixture(tpm);
    const models = new SimulatedModelLog(tpm);
    models.measure('/opt/models/a.onnx', 'a'.repeat(64));
    let c = await challenge(f.store, deviceId);
    let a = await appraise(f, deviceId, evidence(tpm, c, { bootLog: bootLog(log), modelLog: models.chunk(0) }));
    expect(findings(a)).toEqual({ codes: [], status: { boot: 'affirming', models: 'affirming', identity: 'affirming' } });
    expect((await f.store.getDeviceLogState(deviceId))?.model.entries).toBe(1);

    models.measure('/opt/models/b.onnx', 'b'.repeat(64));
    c = await challenge(f.store, deviceId);
    a = await appraise(f, deviceId, evidence(tpm, c, { bootLog: bootLog(log, false), modelLog: models.chunk(1) }));
    expect(findings(a).codes).toEqual([]);
    const state = (await f.store.getDeviceLogState(deviceId))!;
    expect(state.model.measurements.map((m) => m.path)).toEqual(['/opt/models/a.onnx', '/opt/models/b.onnx']);
    expect(state.verifiedPcrs).toBeNull(); // the test helper records no verifiedPcrs; the verifier does
  });

  it('a model log read after the quote may hold entries the quote does not cover: the covered prefix is verified, the rest waits', async () => {
    const models = new SimulatedModelLog(tpm);
    models.measure('/opt/models/a.onnx', 'a'.repeat(64));
    const c = await challenge(f.store, deviceId);
    const ev = evidence(tpm, c);
    models.measure('/opt/models/late.onnx', 'c'.repeat(64)); // measured between the quote and the log read
    const a = await appraise(f, deviceId, { ...ev, modelLog: models.chunk(0) });
    expect(findings(a).codes).toEqual([]);
    expect((await f.store.getDeviceLogState(deviceId))?.model.entries).toBe(1);
  });
});

describe('schema and device', () => {
  it('refuses what is not evidence with an error, not a verdict', async () => {
    expect(findings(await appraise(f, deviceId, Buffer.from('{not json'))).codes).toEqual(['error/invalid-json']);
    expect(findings(await appraise(f, deviceId, Buffer.from('{"v":1}'))).codes).toEqual(['error/schema']);
    expect(findings(await appraise(f, deviceId, new Uint8Array(9 * 1024 * 1024))).codes).toEqual(['error/payload-too-large']);
  });

  it('refuses an unknown device and a revoked one, revoked in the store behind the verifier\'s back (another replica)', async () => {
    let c = await challenge(f.store, deviceId);
    expect(findings(await appraise(f, 'nobody', evidence(tpm, c))).codes).toEqual(['error/device-unknown']);
    // Appraised once: the verifier now holds the device in memory.
    expect(findings(await appraise(f, deviceId, evidence(tpm, c))).codes).toEqual([]);
    expect(f.deps.states.get(deviceId).device?.id).toBe(deviceId);
    c = await challenge(f.store, deviceId);
    // Nothing tells this verifier: the store alone knows.
    await f.store.revokeDevice({ deviceId, reason: 'admin', actor: 'test' });
    expect(findings(await appraise(f, deviceId, evidence(tpm, c))).codes).toEqual(['error/device-revoked']);
  });
});

describe('identity: freshness, quote, signature, PCR digest, clock', () => {
  it('challenge: unknown, another device’s, used (replay) contraindicate; expired only warns', async () => {
    const other = new SimulatedTpm();
    const otherId = await enrollSimulated(f.store, other);
    let c = await challenge(f.store, deviceId);
    expect(findings(await appraise(f, deviceId, { ...evidence(tpm, c), challengeId: 'AAAAAAAAAAAAAAAAAAAAAA' })).codes).toEqual(['identity/challenge-unknown']);
    const theirs = await challenge(f.store, otherId);
    expect(findings(await appraise(f, deviceId, evidence(tpm, theirs))).codes).toEqual(['identity/challenge-other-device']);
    const ev = evidence(tpm, c);
    expect(findings(await appraise(f, deviceId, ev)).codes).toEqual([]);
    const replay = await appraise(f, deviceId, ev);
    expect(findings(replay)).toMatchObject({ codes: ['identity/challenge-used'], status: { identity: 'contraindicated', boot: 'none', models: 'none' } });
    c = await challenge(f.store, deviceId, undefined, 1);
    await new Promise((r) => setTimeout(r, 5));
    expect(findings(await appraise(f, deviceId, evidence(tpm, c)))).toMatchObject({ codes: ['identity/challenge-expired'], status: { identity: 'warning' } });
  });

  it('TPMS_ATTEST: bad magic, not a quote, malformed', async () => {
    const c1 = await challenge(f.store, deviceId);
    const ev = evidence(tpm, c1);
    const quote = Buffer.from(ev.quote, 'base64');
    const badMagic = Buffer.from(quote);
    badMagic[0] = 0x00;
    expect(findings(await appraise(f, deviceId, { ...ev, quote: badMagic.toString('base64') })).codes).toEqual(['identity/bad-magic']);
    const c2 = await challenge(f.store, deviceId);
    const notQuote = Buffer.from(Buffer.from(evidence(tpm, c2).quote, 'base64'));
    notQuote.writeUInt16BE(0x8017, 4); // TPM_ST_ATTEST_CERTIFY
    expect(findings(await appraise(f, deviceId, { ...evidence(tpm, c2), challengeId: c2.id, quote: notQuote.toString('base64') })).codes).toEqual(['identity/not-a-quote']);
    const c3 = await challenge(f.store, deviceId);
    const truncated = Buffer.from(evidence(tpm, c3).quote, 'base64').subarray(0, 40);
    expect(findings(await appraise(f, deviceId, { ...evidence(tpm, c3), quote: truncated.toString('base64') })).codes).toEqual(['identity/quote-malformed']);
  });

  it('a quote made for another nonce (an earlier challenge) fails on extraData, even naming the current challenge', async () => {
    const old = await challenge(f.store, deviceId);
    const stale = evidence(tpm, old);
    const current = await challenge(f.store, deviceId);
    expect(findings(await appraise(f, deviceId, { ...stale, challengeId: current.id })).codes).toEqual(['identity/nonce-mismatch']);
  });

  it('signature: another key, a flipped bit, garbage bytes', async () => {
    let c = await challenge(f.store, deviceId);
    const q = new SimulatedTpm(softwareAk('rsassa')).quote(c.selection, c.nonce);
    expect(findings(await appraise(f, deviceId, { ...evidence(tpm, c), signature: Buffer.from(q.signature).toString('base64') })).codes).toEqual(['identity/bad-signature']);
    c = await challenge(f.store, deviceId);
    const ev = evidence(tpm, c);
    const sig = Buffer.from(ev.signature, 'base64');
    sig[sig.length - 1] = sig[sig.length - 1]! ^ 1;
    expect(findings(await appraise(f, deviceId, { ...ev, signature: sig.toString('base64') })).codes).toEqual(['identity/bad-signature']);
    c = await challenge(f.store, deviceId);
    expect(findings(await appraise(f, deviceId, { ...evidence(tpm, c), signature: 'AAEC' })).codes).toEqual(['identity/malformed-signature']);
    c = await challenge(f.store, deviceId);
    const ecc = new SimulatedTpm(softwareAk('ecdsa-p256')).quote(c.selection, c.nonce);
    expect(findings(await appraise(f, deviceId, { ...evidence(tpm, c), signature: Buffer.from(ecc.signature).toString('base64') })).codes).toEqual(['identity/signature-key-mismatch']);
  });

  it('PCR values: another selection than asked, a value changed after signing', async () => {
    let c = await challenge(f.store, deviceId);
    const narrow = tpm.quote({ sha256: [0, 1] }, c.nonce);
    expect(
      findings(await appraise(f, deviceId, { ...evidence(tpm, c), quote: Buffer.from(narrow.attest).toString('base64'), signature: Buffer.from(narrow.signature).toString('base64'), pcrs: narrow.pcrs })).codes,
    ).toEqual(['identity/pcr-selection-mismatch']);
    c = await challenge(f.store, deviceId);
    const ev = evidence(tpm, c);
    const pcrs = { sha256: { ...ev.pcrs.sha256, '7': 'ab'.repeat(32) } };
    expect(findings(await appraise(f, deviceId, { ...ev, pcrs })).codes).toEqual(['identity/pcr-digest-mismatch']);
    c = await challenge(f.store, deviceId);
    const missing = evidence(tpm, c);
    const { '7': _dropped, ...rest } = missing.pcrs.sha256!;
    expect(findings(await appraise(f, deviceId, { ...missing, pcrs: { sha256: rest } })).codes).toEqual(['identity/pcr-selection-mismatch']);
  });

  it('PCR banks: a bank asked for and missing from the quote as a whole is named in boot (pcr-bank-unavailable), never passed; partial banks and extra banks stay identity failures', async () => {
    // The TPM has no sha384 bank: the agent quotes the sha256 part of the challenge.
    const sha256 = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14];
    f.policies.set(deviceId, preparedPolicy({ v: 1, pcrSelection: { sha256 }, pcrs: { sha384: { '0': ['ab'.repeat(48)], '7': ['cd'.repeat(48)] } } }));
    let c = await challenge(f.store, deviceId, { sha256, sha384: [0, 7] });
    const banked = tpm.quote({ sha256 }, c.nonce);
    const asEvidence = (q: typeof banked) => ({ ...evidence(tpm, c), quote: Buffer.from(q.attest).toString('base64'), signature: Buffer.from(q.signature).toString('base64'), pcrs: q.pcrs });
    let a = await appraise(f, deviceId, asEvidence(banked));
    expect(findings(a).codes).toEqual(['boot/pcr-bank-unavailable']);
    expect(findings(a).status).toMatchObject({ identity: 'affirming', boot: 'contraindicated' });
    const v = a.v.build({ deviceId, receivedAt: 0 });
    expect(v.submods.boot?.['vigil.reasons']?.[0]).toMatchObject({ where: { bank: 'sha384' } });
    expect(v.submods.boot?.['vigil.reasons']?.[0]?.message).toContain('sha384 PCRs 0, 7 (with golden values)');

    // With no golden values at all, a bank the quote drops still keeps the device from passing.
    f.policies.delete(deviceId);
    c = await challenge(f.store, deviceId);
    a = await appraise(f, deviceId, asEvidence(tpm.quote({}, c.nonce)));
    expect(findings(a).codes).toContain('boot/pcr-bank-unavailable');
    expect(findings(a).status['boot']).toBe('contraindicated');

    // Part of a bank, or a bank nobody asked for: the quote is not what was asked.
    c = await challenge(f.store, deviceId, { sha256, sha384: [0, 7] });
    expect(findings(await appraise(f, deviceId, asEvidence(tpm.quote({ sha256: [0, 1] }, c.nonce)))).codes).toEqual(['identity/pcr-selection-mismatch']);
    c = await challenge(f.store, deviceId, { sha256 });
    expect(findings(await appraise(f, deviceId, asEvidence(tpm.quote({ sha256, sha1: [0] }, c.nonce)))).codes).toEqual(['identity/pcr-selection-mismatch']);
  });

  it('clock: a reboot is a note; resetCount down, restartCount down and clock back are rollbacks', async () => {
    const attest = async () => appraise(f, deviceId, evidence(tpm, await challenge(f.store, deviceId)));
    expect(findings(await attest()).codes).toEqual([]);
    tpm.reboot();
    expect(findings(await attest())).toMatchObject({ codes: ['identity/tpm-reboot'], status: { identity: 'affirming' } });
    tpm.clock = { ...tpm.clock, restartCount: tpm.clock.restartCount + 1 };
    expect(findings(await attest()).codes).toEqual(['identity/tpm-restart']);
    const saved = { ...tpm.clock };
    tpm.clock = { ...saved, clock: saved.clock - 10_000n };
    expect(findings(await attest()).codes).toEqual(['identity/clock-went-back']);
    tpm.clock = { ...saved, restartCount: saved.restartCount - 1 };
    expect(findings(await attest()).codes).toEqual(['identity/restart-count-decreased']);
    tpm.clock = { ...saved, resetCount: saved.resetCount - 1 };
    expect(findings(await attest())).toMatchObject({ codes: ['identity/reset-count-decreased'], status: { identity: 'contraindicated' } });
    // The rolled-back quotes did not lower what the store remembers.
    expect((await f.store.getDevice(deviceId))?.tpmClock?.resetCount).toBe(saved.resetCount);
  });
});

describe('boot: the event log replays to the quoted PCRs', () => {
  it('a PCR extended outside the log, an altered event, a digest that does not match the log, a log that does not parse', async () => {
    const log = await bootFromFixture(tpm);
    tpm.extend('sha256', 9, randomBytes(32));
    let a = await appraise(f, deviceId, evidence(tpm, await challenge(f.store, deviceId), { bootLog: bootLog(log) }));
    expect(findings(a)).toMatchObject({ codes: ['boot/event-log-mismatch'], status: { boot: 'contraindicated', identity: 'affirming' } });
    const reason = a.v.build({ deviceId, receivedAt: 0 }).submods.boot!['vigil.reasons']![0]!;
    expect(reason.where).toMatchObject({ bank: 'sha256', pcr: 9, actual: tpm.value('sha256', 9).toString('hex') });

    const clean = new SimulatedTpm(tpm.ak);
    clean.clock = { ...tpm.clock, clock: tpm.clock.clock + 1000n };
    await bootFromFixture(clean);
    const parsed = parseEventLog(log);
    const victim = parsed.events.find((e) => e.pcrIndex === 4 && e.eventType !== EventType.EV_NO_ACTION)!;
    const altered = serializeEventLog(parsed.events.map((e) => (e === victim ? { ...e, digests: e.digests.map((d) => ({ ...d, digest: new Uint8Array(d.digest.length) })) } : e)));
    a = await appraise(f, deviceId, evidence(clean, await challenge(f.store, deviceId), { bootLog: bootLog(altered) }));
    expect(findings(a).codes).toEqual(['boot/event-log-mismatch']);

    a = await appraise(f, deviceId, evidence(clean, await challenge(f.store, deviceId), { bootLog: { digest: 'f'.repeat(64), blob: encodeBlob(log, 'gzip') } }));
    expect(findings(a).codes).toEqual(['boot/event-log-digest-mismatch']);

    const garbage = randomBytes(300);
    a = await appraise(f, deviceId, evidence(clean, await challenge(f.store, deviceId), { bootLog: bootLog(garbage) }));
    expect(findings(a).codes).toEqual(['boot/event-log-invalid']);

    // A digest the verifier has never seen: not appraised (none), and the next challenge asks for the log.
    a = await appraise(f, deviceId, evidence(clean, await challenge(f.store, deviceId), { bootLog: { digest: 'e'.repeat(64) } }));
    expect(findings(a)).toMatchObject({ codes: ['boot/event-log-unknown'], status: { boot: 'none' } });
    expect((await f.store.getDeviceLogState(deviceId))?.bootLogDigest).toBeNull();
  });

  it('without a boot log, the boot PCRs must hold their reset values', async () => {
    expect(findings(await appraise(f, deviceId, evidence(tpm, await challenge(f.store, deviceId)))).codes).toEqual([]);
    tpm.extend('sha256', 0, randomBytes(32));
    expect(findings(await appraise(f, deviceId, evidence(tpm, await challenge(f.store, deviceId)))).codes).toEqual(['boot/event-log-mismatch']);
  });
});

describe('os: the IMA log replays to PCR 10', () => {
  const IMA_SELECTION = { sha256: [0, 10, 13] };

  /** `n` ima-ng entries for made-up files, with the kernel's template data and hashes. */
  function imaEntries(n: number): ImaEntry[] {
    return Array.from({ length: n }, (_, i) => fixLine(`10 ${'0'.repeat(40)} ima-ng sha256:${randomBytes(32).toString('hex')} /usr/bin/tool-${i}`));
  }

  it('verifies the entries PCR 10 covers, continues from the offset, and names a tampered entry', async () => {
    const all = imaEntries(6);
    for (const e of all.slice(0, 4)) {
      tpm.extend('sha1', 10, e.templateHash);
      tpm.extend('sha256', 10, createHash('sha256').update(e.templateData!).digest());
    }
    const chunk = (entries: ImaEntry[], offset: number) => ({ format: 'ima-binary' as const, offset, count: entries.length, blob: encodeBlob(serializeImaBinary(entries), 'gzip') });
    // The list holds 6 entries, the quote covers 4: 4 are verified.
    let c = await challenge(f.store, deviceId, IMA_SELECTION);
    let a = await appraise(f, deviceId, evidence(tpm, c, { imaLog: chunk(all, 0) }));
    expect(findings(a)).toMatchObject({ codes: [], status: { os: 'affirming' } });
    expect((await f.store.getDeviceLogState(deviceId))?.ima.entries).toBe(4);
    // The next evidence continues at 4.
    for (const e of all.slice(4)) {
      tpm.extend('sha1', 10, e.templateHash);
      tpm.extend('sha256', 10, createHash('sha256').update(e.templateData!).digest());
    }
    c = await challenge(f.store, deviceId, IMA_SELECTION);
    a = await appraise(f, deviceId, evidence(tpm, c, { imaLog: chunk(all.slice(4), 4) }));
    expect(findings(a).codes).toEqual([]);
    expect((await f.store.getDeviceLogState(deviceId))?.ima.entries).toBe(6);
    // A chunk from elsewhere in the log is not appraised.
    c = await challenge(f.store, deviceId, IMA_SELECTION);
    a = await appraise(f, deviceId, evidence(tpm, c, { imaLog: chunk(all.slice(5), 5) }));
    expect(findings(a)).toMatchObject({ codes: ['os/ima-log-offset-mismatch'], status: { os: 'none' } });
    // The whole log resent from 0 with one entry altered.
    const forged = [...all];
    forged[2] = fixLine(`10 ${'0'.repeat(40)} ima-ng sha256:${'0'.repeat(64)} /usr/bin/innocent`);
    c = await challenge(f.store, deviceId, IMA_SELECTION);
    a = await appraise(f, deviceId, evidence(tpm, c, { imaLog: chunk(forged, 0) }));
    expect(findings(a)).toMatchObject({ codes: ['os/ima-log-mismatch'], status: { os: 'contraindicated' } });
  });
});

describe('models: the model log replays to the model PCR, and the policy', () => {
  it('refuses entries that are not ima-ng SHA-256 records on the model PCR, and a PCR holding more than the log', async () => {
    const models = new SimulatedModelLog(tpm);
    models.measure('/opt/models/a.onnx', 'a'.repeat(64));
    const sneaky = new SimulatedModelLog(tpm);
    sneaky.measure('/opt/models/hidden.onnx', 'd'.repeat(64)); // extended, never logged
    const a = await appraise(f, deviceId, evidence(tpm, await challenge(f.store, deviceId), { modelLog: models.chunk(0) }));
    expect(findings(a)).toMatchObject({ codes: ['models/model-log-mismatch'], status: { models: 'contraindicated' } });

    const wrongPcr = `14 ${models.entries[0]!.line.slice(3)}\n`;
    const b = await appraise(
      f,
      deviceId,
      evidence(tpm, await challenge(f.store, deviceId), { modelLog: { format: 'ima-ascii', offset: 0, count: 1, blob: encodeBlob(Buffer.from(wrongPcr), 'identity') } }),
    );
    expect(findings(b).codes).toEqual(['models/model-entry-wrong-pcr']);
    const sha1Entry = `13 ${'0'.repeat(40)} ima-ng sha1:${'0'.repeat(40)} /opt/models/x\n`;
    const c = await appraise(
      f,
      deviceId,
      evidence(tpm, await challenge(f.store, deviceId), { modelLog: { format: 'ima-ascii', offset: 0, count: 1, blob: encodeBlob(Buffer.from(sha1Entry), 'identity') } }),
    );
    expect(findings(c).codes).toEqual(['models/model-entry-not-ima-ng']);
  });

  it('checks every model of the boot against the policy and the fleet allowlist, by path then file name', async () => {
    const models = new SimulatedModelLog(tpm);
    models.measure('/opt/models/a.onnx', 'a'.repeat(64));
    models.measure('/srv/b.onnx', 'b'.repeat(64));
    f.policies.set(deviceId, preparedPolicy({ v: 1, models: { allowed: { '/opt/models/a.onnx': ['a'.repeat(64)] } } }));
    f.fleet = new Map([['b.onnx', new Set(['b'.repeat(64)])]]);
    let a = await appraise(f, deviceId, evidence(tpm, await challenge(f.store, deviceId), { modelLog: models.chunk(0) }));
    expect(findings(a).codes).toEqual([]);
    // b.onnx is replaced: its new digest is not allowed; the old one remains in this boot's log.
    models.measure('/srv/b.onnx', 'c'.repeat(64));
    a = await appraise(f, deviceId, evidence(tpm, await challenge(f.store, deviceId), { modelLog: models.chunk(2) }));
    const v = a.v.build({ deviceId, receivedAt: 0 });
    expect(v.submods.models?.['vigil.reasons']).toEqual([expect.objectContaining({ code: 'model-digest-not-allowed', where: expect.objectContaining({ path: '/srv/b.onnx', event: 2, actual: 'c'.repeat(64) }) })]);
    // A file nobody listed.
    models.measure('/tmp/x.bin', 'e'.repeat(64));
    a = await appraise(f, deviceId, evidence(tpm, await challenge(f.store, deviceId), { modelLog: models.chunk(3) }));
    expect(findings(a).codes).toEqual(['models/model-digest-not-allowed', 'models/model-unknown']);
    // The policy can make model failures only warn.
    f.policies.set(deviceId, preparedPolicy({ v: 1, models: { allowed: { '/opt/models/a.onnx': ['a'.repeat(64)] } }, onFailure: { models: 'warning' } }, 'test', 2));
    a = await appraise(f, deviceId, evidence(tpm, await challenge(f.store, deviceId), { modelLog: models.chunk(4) }));
    expect(findings(a).status.models).toBe('warning');
  });

  it('golden PCR values: a value the policy does not allow contraindicates boot, naming PCR and values', async () => {
    const log = await bootFromFixture(tpm);
    const replay = replayEvents(parseEventLog(log).events);
    const pcr7 = Buffer.from(replay.pcrs.get('sha256')!.get(7)!).toString('hex');
    f.policies.set(deviceId, preparedPolicy({ v: 1, pcrs: { sha256: { '7': [pcr7], '4': ['00'.repeat(32)] } } }));
    const a = await appraise(f, deviceId, evidence(tpm, await challenge(f.store, deviceId), { bootLog: bootLog(log) }));
    const v = a.v.build({ deviceId, receivedAt: 0 });
    expect(v.submods.boot?.['vigil.reasons']).toEqual([expect.objectContaining({ code: 'pcr-value-not-allowed', where: expect.objectContaining({ bank: 'sha256', pcr: 4, expected: '00'.repeat(32) }) })]);
    expect(v.submods.boot?.['ear.appraisal-policy-id']).toBe('test@1');
  });
});

describe('hostile evidence', () => {
  it('property: random bytes in any binary field, random PCR values, random logs — always a named reason or error, never a crash', async () => {
    const codes = new Set<string>(Object.values(REASON_CODES).flat());
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          quote: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: undefined }),
          signature: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: undefined }),
          pcr: fc.option(fc.integer({ min: 0, max: 23 }), { nil: undefined }),
          bootLog: fc.option(fc.uint8Array({ maxLength: 400 }), { nil: undefined }),
          modelLog: fc.option(fc.string({ maxLength: 200 }), { nil: undefined }),
        }),
        async (m) => {
          const c = await challenge(f.store, deviceId);
          const ev: Evidence = evidence(tpm, c);
          const hostile: Evidence = {
            ...ev,
            ...(m.quote !== undefined ? { quote: Buffer.from(m.quote).toString('base64') } : {}),
            ...(m.signature !== undefined ? { signature: Buffer.from(m.signature).toString('base64') } : {}),
            ...(m.pcr !== undefined ? { pcrs: { sha256: { ...ev.pcrs.sha256, [String(m.pcr)]: 'cd'.repeat(32) } } } : {}),
            ...(m.bootLog !== undefined ? { bootLog: bootLog(m.bootLog) } : {}),
            ...(m.modelLog !== undefined ? { modelLog: { format: 'ima-ascii' as const, offset: 0, count: 1, blob: encodeBlob(Buffer.from(m.modelLog), 'identity') } } : {}),
          };
          const a = await appraise(f, deviceId, encodeEvidence(hostile));
          const got = findings(a).codes;
          for (const code of got) {
            const [, name] = code.split('/');
            if (!code.startsWith('error/')) expect(codes.has(name!)).toBe(true);
          }
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);
});

function le32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** An IMA entry from an ASCII line whose template hash is computed (the line's hash column is ignored). */
function fixLine(line: string): ImaEntry {
  const [pcr, , template, digest, ...path] = line.split(' ');
  const [algo, hex] = digest!.split(':') as [string, string];
  const d = Buffer.concat([Buffer.from(`${algo}:\0`), Buffer.from(hex, 'hex')]);
  const n = Buffer.concat([Buffer.from(path.join(' ')), Buffer.from([0])]);
  const templateData = Buffer.concat([le32(d.length), d, le32(n.length), n]);
  return {
    index: 0,
    offset: 0,
    pcr: Number(pcr),
    templateHash: createHash('sha1').update(templateData).digest(),
    templateName: template!,
    template: { kind: 'ima-ng', algorithm: algo, digest: Buffer.from(hex, 'hex'), path: path.join(' ') },
    templateData,
    violation: false,
  };
}

