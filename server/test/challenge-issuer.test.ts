/**
 * The challenge issuer (server/src/verifier/challenges/issuer.ts) against a
 * real SQLite store: a device that subscribes and asks at the same moment
 * gets one challenge, not two; an admin always gets a new one; an open
 * challenge is sent again rather than made again, until its use is recorded
 * (by any verifier sharing the store); what it sends is sealed for the
 * device, anchored on the TPM clock the store holds. The broker is a sink
 * that records what would be written to the device.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeChallenge } from '@vigil/protocol';
import { makeTempDir } from '../../test/harness/pki.js';
import type { Broker } from '../src/broker/index.js';
import { createLogger } from '../src/log.js';
import { PreparedPolicy } from '../src/policy/prepared-policy.js';
import { openSqliteStore, type Store } from '../src/store/index.js';
import { ChallengeIssuer } from '../src/verifier/challenges/issuer.js';
import { ChallengeSeal } from '../src/verifier/challenges/sealed-challenge.js';
import { DeviceStates } from '../src/verifier/state/device-state.js';
import { enrollPlaceholderDevice } from './enrolled-device.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let store: Store;
let sent: Array<{ deviceId: string; challengeId: string; nonce: string }>;
let issuer: ChallengeIssuer;
let seal: ChallengeSeal;

const DEVICE = 'cam-1';

beforeEach(async () => {
  tmp = await makeTempDir('vigil-issuer-');
  store = await openSqliteStore(join(tmp.path, 'vigil.db'));
  await enrollPlaceholderDevice(store, DEVICE);
  sent = [];
  const broker = {
    sendToDevice(deviceId: string, _topic: string, payload: Uint8Array): boolean {
      const c = decodeChallenge(Buffer.from(payload));
      if (c instanceof Error) throw c;
      sent.push({ deviceId, challengeId: c.challengeId, nonce: c.nonce });
      return true;
    },
  } as Pick<Broker, 'sendToDevice'> as Broker;
  seal = new ChallengeSeal(randomBytes(32));
  issuer = new ChallengeIssuer(
    {
      store,
      broker,
      states: new DeviceStates(store),
      policyFor: () => new PreparedPolicy(null, null, undefined),
      log: createLogger({ level: 'silent' }),
      now: Date.now,
      seal,
    },
    { ttlMs: 30_000, minSpacingMs: 10_000 },
  );
});

afterEach(async () => {
  await store.close();
  await tmp.cleanup();
});

describe('ChallengeIssuer', () => {
  it('a device that subscribes and asks at once gets one challenge, made and sent once', async () => {
    const [onSubscribe, onRequest] = await Promise.all([issuer.issue(DEVICE, 'subscribe'), issuer.issue(DEVICE, 'request')]);
    expect(onSubscribe.ok && onRequest.ok).toBe(true);
    if (!onSubscribe.ok || !onRequest.ok) return;
    expect(onRequest.challenge.challengeId).toBe(onSubscribe.challenge.challengeId);
    expect([onSubscribe.reused, onRequest.reused]).toEqual([false, true]);
    expect(sent).toEqual([{ deviceId: DEVICE, challengeId: onSubscribe.challenge.challengeId, nonce: onSubscribe.challenge.nonce }]);
  });

  it('sends a challenge sealed for this device: its nonce and terms open from the id, and nothing is stored', async () => {
    const issued = await issuer.issue(DEVICE, 'subscribe');
    if (!issued.ok) throw new Error('not issued');
    const opened = seal.open(issued.challenge.challengeId, DEVICE);
    if (opened.kind !== 'sealed') throw new Error(`opened as ${opened.kind}`);
    expect(Buffer.from(opened.challenge.nonce).toString('hex')).toBe(issued.challenge.nonce);
    expect(opened.challenge).toMatchObject({ expiresAt: issued.challenge.expiresAt, pcrSelection: issued.challenge.pcrSelection, tpmClockAtIssue: null });
    expect(seal.open(issued.challenge.challengeId, 'cam-2').kind).toBe('other-device');
    expect(await store.getChallenge(issued.challenge.challengeId)).toBeNull();
    expect(await store.isChallengeUsed(issued.challenge.challengeId, issued.challenge.expiresAt)).toBe(false);
  });

  it('knows the challenge it last issued to a device as opening its id would give it, and no other', async () => {
    const first = await issuer.issue(DEVICE, 'subscribe');
    if (!first.ok) throw new Error('not issued');
    const id = first.challenge.challengeId;
    const opened = seal.open(id, DEVICE);
    expect(opened.kind).toBe('sealed');
    expect(issuer.sealedFor(DEVICE, id)).toEqual(opened.kind === 'sealed' ? opened.challenge : undefined);
    expect(issuer.sealedFor('cam-2', id)).toBeUndefined();
    expect(issuer.sealedFor(DEVICE, `${id}A`)).toBeUndefined();
    issuer.answered(DEVICE, id);
    const next = await issuer.issue(DEVICE, 'request');
    if (!next.ok) throw new Error('not issued');
    // Only the last one: an answer to the older one is opened with the key, as any other id.
    expect(issuer.sealedFor(DEVICE, id)).toBeUndefined();
    expect(issuer.sealedFor(DEVICE, next.challenge.challengeId)?.id).toBe(next.challenge.challengeId);
    issuer.forget(DEVICE);
    expect(issuer.sealedFor(DEVICE, next.challenge.challengeId)).toBeUndefined();
  });

  it("anchors the challenge on the device's TPM clock as the store holds it", async () => {
    const clock = { clock: 123_456_789n, resetCount: 7, restartCount: 2 };
    await store.recordAttestation({
      attestation: { deviceId: DEVICE, challengeId: null, receivedAt: Date.now(), evidenceDigest: 'ab'.repeat(32), status: 'affirming', verdict: null, error: null, policy: null, tpmClock: clock },
      device: { status: 'affirming', verified: true, tpmClock: clock },
      actor: 'test',
    });
    const issued = await issuer.issue(DEVICE, 'request');
    if (!issued.ok) throw new Error('not issued');
    const opened = seal.open(issued.challenge.challengeId, DEVICE);
    expect(opened.kind === 'sealed' && opened.challenge.tpmClockAtIssue).toEqual(clock);
  });

  it('an open challenge whose use another verifier recorded is not sent again: a new one is made', async () => {
    const first = await issuer.issue(DEVICE, 'subscribe');
    if (!first.ok) throw new Error('not issued');
    expect(await store.useChallenge({ id: first.challenge.challengeId, deviceId: DEVICE, usedAt: Date.now(), expiresAt: first.challenge.expiresAt })).toBe(true);
    const next = await issuer.issue(DEVICE, 'request');
    if (!next.ok) throw new Error('not issued');
    expect(next.reused).toBe(false);
    expect(next.challenge.challengeId).not.toBe(first.challenge.challengeId);
  });

  it('an admin gets a new challenge even while one is being made', async () => {
    const [scheduled, admin] = await Promise.all([issuer.issue(DEVICE, 'schedule'), issuer.issue(DEVICE, 'admin')]);
    if (!scheduled.ok || !admin.ok) throw new Error('not issued');
    expect(admin.challenge.challengeId).not.toBe(scheduled.challenge.challengeId);
    expect(admin.reused).toBe(false);
    expect(sent.map((s) => s.challengeId).sort()).toEqual([scheduled.challenge.challengeId, admin.challenge.challengeId].sort());
  });

  it('once made, an open challenge is sent again rather than made again; once answered, a new one is made', async () => {
    const first = await issuer.issue(DEVICE, 'subscribe');
    const again = await issuer.issue(DEVICE, 'request');
    if (!first.ok || !again.ok) throw new Error('not issued');
    expect(again).toMatchObject({ reused: true, challenge: { challengeId: first.challenge.challengeId } });
    expect(sent).toHaveLength(2);
    issuer.answered(DEVICE, first.challenge.challengeId);
    const next = await issuer.issue(DEVICE, 'request');
    if (!next.ok) throw new Error('not issued');
    expect(next.reused).toBe(false);
    expect(next.challenge.challengeId).not.toBe(first.challenge.challengeId);
  });

  it('an unknown device is refused to every caller, and a later call tries again', async () => {
    const both = await Promise.all([issuer.issue('ghost', 'subscribe'), issuer.issue('ghost', 'request')]);
    expect(both).toEqual([
      { ok: false, reason: 'unknown-device' },
      { ok: false, reason: 'unknown-device' },
    ]);
    const made = await issuer.issue(DEVICE, 'request');
    expect(made.ok).toBe(true);
    expect(await issuer.issue('ghost', 'request')).toEqual({ ok: false, reason: 'unknown-device' });
    expect(sent).toHaveLength(1);
  });
});
