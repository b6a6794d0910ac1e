/**
 * Issue 9, freshness attacks against the whole server over the real
 * broker: an old quote replayed with its old nonce, an answer after the
 * challenge expired, a challenge answered twice (one after the other, and
 * both at once), a challenge another verifier process answered first, and a
 * TPM clock that goes back. Devices are simulated
 * (software AK, real TPMS_ATTEST / TPMT_SIGNATURE), so each attack can be
 * made exactly: the quote is correctly signed and only its freshness is wrong.
 * (The same attacks with a real swtpm — evidence replayed, a rolled-back TPM
 * state — are in attestation.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttestationResult } from '@vigil/protocol';
import { VerifierService } from '../server/src/verifier/index.js';
import { closed } from './harness/broker.js';
import { delay, simEvidence, SimDevice, startSimServer, type SimServer } from './harness/sim-fleet.js';
import { connectSimDevice } from './harness/sim-devices.js';
import { resultCodes } from './harness/verdicts.js';

const TTL_SECONDS = 4;
let env: SimServer;
const devices: SimDevice[] = [];

const device = (): Promise<SimDevice> => connectSimDevice(env, 'fresh', devices);

function status(r: AttestationResult): string {
  if (!r.ok) return `error:${r.error}`;
  const order = ['affirming', 'none', 'warning', 'contraindicated'];
  return Object.values(r.verdict.submods).reduce((w, s) => (order.indexOf(s!['ear.status']) > order.indexOf(w) ? s!['ear.status'] : w), 'affirming');
}

async function expectRevoked(d: SimDevice): Promise<void> {
  await closed(d.client!);
  expect((await env.store.getDevice(d.deviceId))?.revoked).toBe(true);
}

beforeAll(async () => {
  env = await startSimServer({
    overrides: [
      { path: 'attestation.intervalSeconds', value: 3600, flag: 'test' },
      { path: 'attestation.challengeTtlSeconds', value: TTL_SECONDS, flag: 'test' },
    ],
  });
});

afterAll(async () => {
  for (const d of devices) d.close();
  await env?.stop();
});

describe('replay', () => {
  it('an old quote with its old nonce, sent for a new challenge: nonce-mismatch, contraindicated, revoked', async () => {
    const d = await device();
    const first = await d.freshChallenge();
    const old = simEvidence(d.tpm, first);
    await d.publishEvidence(old);
    expect(status(await d.results.take((r) => r.challengeId === first.challengeId))).toBe('affirming');
    const second = await d.freshChallenge();
    await d.publishEvidence({ ...old, challengeId: second.challengeId });
    const result = await d.results.take((r) => r.challengeId === second.challengeId);
    expect(resultCodes(result)).toEqual(['identity/nonce-mismatch']);
    expect(status(result)).toBe('contraindicated');
    await expectRevoked(d);
  });

  it('the old evidence resent as it was (its own, already answered challenge): challenge-used', async () => {
    const d = await device();
    const c = await d.freshChallenge();
    const evidence = simEvidence(d.tpm, c);
    await d.publishEvidence(evidence);
    expect(status(await d.results.take((r) => r.challengeId === c.challengeId))).toBe('affirming');
    await d.publishEvidence(evidence);
    const again = await d.results.take((r) => r.challengeId === c.challengeId);
    expect(resultCodes(again)).toEqual(['identity/challenge-used']);
    await expectRevoked(d);
  });

  it('a challenge id the server never issued: challenge-unknown', async () => {
    const d = await device();
    const c = await d.freshChallenge();
    const forged = { ...c, challengeId: 'NeverIssuedChallenge00' };
    await d.publishEvidence(simEvidence(d.tpm, forged));
    expect(resultCodes(await d.results.take((r) => r.challengeId === forged.challengeId))).toEqual(['identity/challenge-unknown']);
    await expectRevoked(d);
  });

  it('an issued challenge id with one character changed (a later expiry, say): challenge-unknown, nothing recorded as used', async () => {
    const d = await device();
    const c = await d.freshChallenge();
    // The first characters spell the version and the expiry (sealed ids, server/src/verifier/challenges/sealed-challenge.ts).
    const altered = { ...c, challengeId: c.challengeId.slice(0, 5) + (c.challengeId[5] === 'A' ? 'B' : 'A') + c.challengeId.slice(6) };
    await d.publishEvidence(simEvidence(d.tpm, altered));
    expect(resultCodes(await d.results.take((r) => r.challengeId === altered.challengeId))).toEqual(['identity/challenge-unknown']);
    // Under the expiry it spells now (bytes 1-6 of the id) and the one it was issued with.
    const alteredExpiry = Buffer.from(altered.challengeId, 'base64url').readUIntBE(1, 6);
    expect(alteredExpiry).not.toBe(c.expiresAt);
    for (const expiresAt of [alteredExpiry, c.expiresAt]) expect(await env.store.isChallengeUsed(altered.challengeId, expiresAt)).toBe(false);
    await expectRevoked(d);
  });

  it('evidence answered in time and sent again after its challenge expired: still challenge-used, not a late answer', async () => {
    const d = await device();
    const c = await d.freshChallenge();
    const evidence = simEvidence(d.tpm, c);
    await d.publishEvidence(evidence);
    expect(status(await d.results.take((r) => r.challengeId === c.challengeId))).toBe('affirming');
    await delay(Math.max(0, c.expiresAt - Date.now()) + 300);
    await d.publishEvidence(evidence);
    expect(resultCodes(await d.results.take((r) => r.challengeId === c.challengeId))).toEqual(['identity/challenge-used']);
    await expectRevoked(d);
  }, 30_000);
});

describe('expiry', () => {
  it('an answer after the challenge expired: challenge-expired, a warning (late, not forged), recorded, not revoked', async () => {
    const d = await device();
    const c = await d.freshChallenge();
    await delay(Math.max(0, c.expiresAt - Date.now()) + 300);
    await d.publishEvidence(simEvidence(d.tpm, c));
    const late = await d.results.take((r) => r.challengeId === c.challengeId);
    expect(resultCodes(late)).toEqual(['identity/challenge-expired']);
    expect(status(late)).toBe('warning');
    const [record] = await env.store.listAttestations(d.deviceId, 1);
    expect(record?.challengeId).toBe(c.challengeId);
    expect(record?.status).toBe('warning');
    const after = await env.store.getDevice(d.deviceId);
    expect(after?.revoked).toBe(false);
    // A late answer is never trusted: the device's last verification does not move.
    expect(after?.lastVerifiedAt).toBeNull();
    // Sent again, it is judged the same way (the store's order is unknown, other device, used,
    // expired, and an expired challenge was never consumed): still late, still not trusted.
    await d.publishEvidence(simEvidence(d.tpm, c));
    expect(resultCodes(await d.results.take((r) => r.challengeId === c.challengeId))).toEqual(['identity/challenge-expired']);
    expect((await env.store.getDevice(d.deviceId))?.lastVerifiedAt).toBeNull();
    // A fresh challenge answered in time trusts it again.
    expect(status(await d.attest())).toBe('affirming');
    expect((await env.store.getDevice(d.deviceId))?.lastVerifiedAt).not.toBeNull();
  }, 30_000);
});

describe('answering twice', () => {
  it('two answers to one challenge sent back to back: exactly one verdict trusts it, the other is challenge-used', async () => {
    const d = await device();
    const c = await d.freshChallenge();
    const a = simEvidence(d.tpm, c);
    const b = simEvidence(d.tpm, c);
    await Promise.all([d.publishEvidence(a), d.publishEvidence(b)]);
    const first = await d.results.take((r) => r.challengeId === c.challengeId);
    const second = await d.results.take((r) => r.challengeId === c.challengeId);
    expect([status(first), status(second)].sort()).toEqual(['affirming', 'contraindicated']);
    expect([...resultCodes(first), ...resultCodes(second)]).toEqual(['identity/challenge-used']);
    await expectRevoked(d);
  });
});

describe('answered in another process first', () => {
  it('evidence whose challenge use the store already has (another verifier, or this one before a restart): challenge-used, no trusting verdict stored', async () => {
    const d = await device();
    const c = await d.freshChallenge();
    // What a replica sharing the store leaves when it answered first: the use, recorded with its verdict.
    // This process never claimed the challenge, so it accepts the answer and appraises it whole; the
    // store refuses the use when the verdict is recorded, and the evidence is appraised again as a replay.
    expect(await env.store.useChallenge({ id: c.challengeId, deviceId: d.deviceId, usedAt: Date.now(), expiresAt: c.expiresAt })).toBe(true);
    await d.publishEvidence(simEvidence(d.tpm, c));
    const result = await d.results.take((r) => r.challengeId === c.challengeId);
    expect(resultCodes(result)).toEqual(['identity/challenge-used']);
    expect(status(result)).toBe('contraindicated');
    const stored = (await env.store.listAttestations(d.deviceId, 100)).filter((r) => r.challengeId === c.challengeId);
    expect(stored.map((r) => r.status)).toEqual(['contraindicated']);
    await expectRevoked(d);
  });
});

describe('the TPM clock (TPMS_CLOCK_INFO)', () => {
  it('a reboot (resetCount up) is recorded, not failed', async () => {
    const d = await device();
    expect(status(await d.attest())).toBe('affirming');
    d.tpm.reboot();
    const r = await d.attest();
    expect(resultCodes(r)).toEqual(['identity/tpm-reboot']);
    expect(status(r)).toBe('affirming');
  });

  it('two challenges answered back to back, the later quote appraised first: both affirming, the stored clock the later one', async () => {
    const d = await device();
    expect(status(await d.attest())).toBe('affirming');
    const answered = new Set(d.results.items.map((r) => r.challengeId));
    // A challenge the device holds, then an operator's attest-now: two open challenges.
    const first = await d.freshChallenge();
    const operator = env.server.context.services.get(VerifierService)!.verifier.attestNow(d.deviceId, 60_000);
    const second = await d.challenges.take((c) => c.challengeId !== first.challengeId && !answered.has(c.challengeId));
    const earlier = simEvidence(d.tpm, first);
    const later = simEvidence(d.tpm, second);
    const laterClock = { clock: d.tpm.clock.clock, resetCount: d.tpm.clock.resetCount, restartCount: d.tpm.clock.restartCount };

    await d.publishEvidence(later);
    const outcome = await operator;
    expect(outcome.ok && outcome.status).toBe('affirming');
    await d.publishEvidence(earlier);
    const r = await d.results.take((x) => x.challengeId === first.challengeId);
    expect(resultCodes(r)).toEqual([]);
    expect(status(r)).toBe('affirming');
    const stored = await env.store.getDevice(d.deviceId);
    expect(stored?.tpmClock).toEqual(laterClock);
    expect(stored?.revoked).toBe(false);
  });

  it('clock went back without a reset: clock-went-back, contraindicated, revoked', async () => {
    const d = await device();
    expect(status(await d.attest())).toBe('affirming');
    const r = await d.attest((p) => {
      p.attest = { ...p.attest, clockInfo: { ...p.attest.clockInfo, clock: p.attest.clockInfo.clock - 500_000n } };
    });
    expect(resultCodes(r)).toEqual(['identity/clock-went-back']);
    expect(status(r)).toBe('contraindicated');
    await expectRevoked(d);
  });

  it('restartCount went back within one boot: restart-count-decreased', async () => {
    const d = await device();
    d.tpm.clock.restartCount = 5;
    expect(status(await d.attest())).toBe('affirming');
    const r = await d.attest((p) => {
      p.attest = { ...p.attest, clockInfo: { ...p.attest.clockInfo, restartCount: 4 } };
    });
    expect(resultCodes(r)).toEqual(['identity/restart-count-decreased']);
    await expectRevoked(d);
  });

  it('resetCount went back (TPM state restored from a copy): reset-count-decreased', async () => {
    const d = await device();
    d.tpm.reboot();
    d.tpm.reboot();
    expect(status(await d.attest())).toBe('affirming');
    const r = await d.attest((p) => {
      p.attest = { ...p.attest, clockInfo: { ...p.attest.clockInfo, resetCount: p.attest.clockInfo.resetCount - 1, clock: p.attest.clockInfo.clock + 10_000n } };
    });
    expect(resultCodes(r)).toEqual(['identity/reset-count-decreased']);
    await expectRevoked(d);
  });

  it('a rolled-back quote is judged against the last verified clock only: a failed quote does not move it', async () => {
    const d = await device();
    expect(status(await d.attest())).toBe('affirming');
    const verified = (await env.store.getDevice(d.deviceId))?.tpmClock;
    // A quote with a wrong nonce (failed before the clock step) carrying a huge clock...
    const r = await d.attest((p) => {
      p.attest = { ...p.attest, extraData: new Uint8Array(32), clockInfo: { ...p.attest.clockInfo, clock: 1n << 60n } };
    });
    expect(resultCodes(r)).toEqual(['identity/nonce-mismatch']);
    // ...leaves the verified clock where the last good quote put it.
    expect((await env.store.getDevice(d.deviceId))?.tpmClock).toEqual(verified);
  });
});
