import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { randomId, timeOrderedId, type Ear, type EarStatus } from '@vigil/protocol';
import {
  StoreError,
  generateEnrollmentToken,
  hashEnrollmentToken,
  type ChallengeConsumption,
  type ChallengeConsumptionRequest,
  type ChallengeRecord,
  type Device,
  type NewChallenge,
  type RecordAttestationInput,
  type RecordAttestationResult,
  type EnrollDeviceInput,
  type NewAttestation,
  type Store,
  type TpmClockState,
} from '../src/store/index.js';

/**
 * The behaviour every Store implementation must have. Each implementation's
 * test file calls `defineStoreSuite` with a fixture factory; the SQLite one
 * runs always, a PostgreSQL one can run the very same tests.
 */
export interface StoreFixture {
  /** Opens a new connection to this fixture's database (call twice for two independent clients). */
  open(): Promise<Store>;
  /** Runs SQL behind the store's back with the database's own command-line tool, as an attacker with file access would. */
  externalSql(sql: string): Promise<void>;
  /** Removes the database. */
  destroy(): Promise<void>;
}

const DAY = 24 * 3600 * 1000;
const T0 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

const hex = (n: number): string => randomBytes(n).toString('hex');
/** Shaped like a sealed challenge's id: a time-ordered prefix, then opaque base64url up to `length`. */
const sealedId = (length = 60): string => (timeOrderedId() + randomBytes(72).toString('base64url')).slice(0, length);
const facts = {
  hostname: 'edge-1',
  os: 'Debian GNU/Linux 12',
  arch: 'arm64',
  agentVersion: '0.1.0',
  tpm: { manufacturer: 'IBM', firmwareVersion: '20191023.0.0.0' },
};

export function defineStoreSuite(name: string, makeFixture: () => Promise<StoreFixture>): void {
  describe(`Store contract: ${name}`, () => {
    // The batch of one kind at a time, through applyBatch (the verifier mixes them).
    const createChallenges = (cs: NewChallenge[]) => store.applyBatch(cs.map((challenge) => ({ kind: 'create-challenge', challenge }) as const));
    const consumeChallenges = async (rs: ChallengeConsumptionRequest[]) => (await store.applyBatch(rs.map((request) => ({ kind: 'consume-challenge', request }) as const))) as ChallengeConsumption[];
    const recordAttestations = (inputs: RecordAttestationInput[]) => store.applyBatch(inputs.map((input) => ({ kind: 'record-attestation', input }) as const));
    let fixture: StoreFixture;
    let store: Store;
    const others: Store[] = [];

    beforeEach(async () => {
      fixture = await makeFixture();
      store = await fixture.open();
    });
    afterEach(async () => {
      for (const s of others.splice(0)) await s.close();
      await store.close();
      await fixture.destroy();
    });

    async function secondConnection(): Promise<Store> {
      const s = await fixture.open();
      others.push(s);
      return s;
    }

    async function newToken(opts: { maxUses?: number; expiresAt?: number; deviceName?: string | null; label?: string } = {}) {
      const token = generateEnrollmentToken();
      const record = await store.createToken({
        hash: hashEnrollmentToken(token),
        label: opts.label ?? 'test',
        maxUses: opts.maxUses ?? 1,
        expiresAt: opts.expiresAt ?? Date.now() + DAY,
        deviceName: opts.deviceName ?? null,
        actor: 'test',
      });
      return { token, hash: hashEnrollmentToken(token), record };
    }

    function enrollInput(tokenHash: string, over: { id?: string; ekName?: string; serial?: string; akName?: string } = {}): EnrollDeviceInput {
      const ekName = over.ekName ?? '000b' + hex(32);
      return {
        tokenHash,
        device: {
          id: over.id ?? 'ek-' + ekName.slice(4, 44),
          ekPublic: randomBytes(314),
          ekName,
          ekCertificate: randomBytes(900),
          akPublic: randomBytes(280),
          akName: over.akName ?? '000b' + hex(32),
          facts,
        },
        certificate: {
          serial: over.serial ?? hex(16),
          notBefore: Date.now(),
          notAfter: Date.now() + DAY,
          pem: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        },
        actor: 'registrar',
      };
    }

    async function enrolled(id?: string) {
      const { hash } = await newToken();
      const input = enrollInput(hash, id === undefined ? {} : { id });
      const result = await store.enrollDevice(input);
      if (!result.ok) throw new Error(`enrollment failed: ${result.reason}`);
      return { device: result.device, serial: input.certificate.serial, input };
    }

    async function auditCount(): Promise<number> {
      return (await store.listAudit({ limit: 100_000 })).length;
    }

    function ear(deviceId: string, statuses: Partial<Record<'boot' | 'os' | 'models' | 'identity', EarStatus>>): Ear {
      const submods = Object.fromEntries(
        Object.entries(statuses).map(([k, s]) => [
          k,
          s === 'affirming'
            ? { 'ear.status': s }
            : { 'ear.status': s, 'vigil.reasons': [{ code: `${k}-bad`, message: `${k} diverged`, where: { bank: 'sha256' as const, pcr: 13 } }] },
        ]),
      );
      return {
        eat_profile: 'tag:github.com,2023:veraison/ear',
        iat: Math.floor(T0 / 1000),
        'ear.verifier-id': { developer: 'Vigil', build: 'test' },
        submods,
        'vigil.device-id': deviceId,
      };
    }

    function attestation(deviceId: string, status: EarStatus, over: Partial<NewAttestation> = {}): NewAttestation {
      return {
        deviceId,
        challengeId: randomId(),
        receivedAt: T0,
        evidenceDigest: hex(32),
        status,
        verdict: ear(deviceId, { boot: 'affirming', models: status }),
        error: null,
        policy: { name: 'fleet', version: 1 },
        tpmClock: null,
        ...over,
      };
    }

    // ── enrollment ───────────────────────────────────────────────────────

    describe('enrollDevice', () => {
      it('creates the device and its certificate, uses the token and audits it, in one step', async () => {
        const { hash, record } = await newToken({ maxUses: 2 });
        const input = enrollInput(hash);
        const result = await store.enrollDevice(input);
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        expect(result.reenrolled).toBe(false);
        expect(result.revokedSerials).toEqual([]);
        expect(result.token.uses).toBe(1);
        const d = (await store.getDevice(input.device.id))!;
        expect(d).toMatchObject({
          id: input.device.id,
          ekName: input.device.ekName,
          akName: input.device.akName,
          facts,
          status: 'none',
          revoked: false,
          reenrollAllowed: false,
          lastVerifiedAt: null,
          tpmClock: null,
        });
        expect(Buffer.from(d.ekPublic)).toEqual(Buffer.from(input.device.ekPublic));
        expect(Buffer.from(d.akPublic)).toEqual(Buffer.from(input.device.akPublic));
        expect(Buffer.from(d.ekCertificate!)).toEqual(Buffer.from(input.device.ekCertificate!));
        expect((await store.getDeviceByEkName(input.device.ekName))?.id).toBe(input.device.id);
        const certs = await store.listCertificates(input.device.id);
        expect(certs.map((c) => c.serial)).toEqual([input.certificate.serial]);
        expect(certs[0]!.revokedAt).toBeNull();
        expect((await store.listTokens()).find((t) => t.id === record.id)?.uses).toBe(1);
        const audit = await store.listAudit();
        const entry = audit.at(-1)!;
        expect(entry).toMatchObject({ action: 'device.enroll', subject: `device:${input.device.id}`, actor: 'registrar' });
        expect(entry.details).toMatchObject({ ekName: input.device.ekName, token: record.id, serial: input.certificate.serial });
      });

      it('refuses with a named reason and leaves nothing half done', async () => {
        const first = await enrolled();
        const expired = await newToken({ expiresAt: Date.now() - 1 });
        const usedUp = await newToken({ maxUses: 1 });
        expect((await store.enrollDevice(enrollInput(usedUp.hash))).ok).toBe(true);
        const revoked = await newToken();
        await store.revokeToken(revoked.record.id, 'admin');
        const fresh = await newToken();

        const before = { audit: await auditCount(), devices: (await store.listDevices()).length };
        const cases: Array<[EnrollDeviceInput, string]> = [
          [enrollInput(hashEnrollmentToken(generateEnrollmentToken())), 'token-unknown'],
          [enrollInput(expired.hash), 'token-expired'],
          [enrollInput(usedUp.hash), 'token-used-up'],
          [enrollInput(revoked.hash), 'token-revoked'],
          [enrollInput(fresh.hash, { ekName: first.input.device.ekName, id: first.device.id }), 'already-enrolled'],
          [enrollInput(fresh.hash, { id: first.device.id }), 'device-name-taken'],
        ];
        for (const [input, reason] of cases) {
          expect(await store.enrollDevice(input)).toEqual({ ok: false, reason });
          expect(await store.getCertificate(input.certificate.serial)).toBeNull();
        }
        expect(await auditCount()).toBe(before.audit);
        expect((await store.listDevices()).length).toBe(before.devices);
        expect((await store.listTokens()).find((t) => t.id === fresh.record.id)?.uses).toBe(0);
      });

      it('rolls everything back when a late step fails (duplicate certificate serial)', async () => {
        const first = await enrolled();
        const { hash, record } = await newToken();
        const input = enrollInput(hash, { serial: first.serial });
        const audit = await auditCount();
        await expect(store.enrollDevice(input)).rejects.toBeInstanceOf(StoreError);
        expect(await store.getDevice(input.device.id)).toBeNull();
        expect((await store.listTokens()).find((t) => t.id === record.id)?.uses).toBe(0);
        expect(await auditCount()).toBe(audit);
      });

      it('uses the name a token fixes, and refuses another', async () => {
        const { hash } = await newToken({ deviceName: 'camera-17' });
        await expect(store.enrollDevice(enrollInput(hash, { id: 'camera-18' }))).rejects.toMatchObject({ code: 'invalid-argument' });
        const result = await store.enrollDevice(enrollInput(hash, { id: 'camera-17' }));
        expect(result.ok && result.device.id).toBe('camera-17');
      });

      it('re-enrolls a known EK only once an admin allowed it, revoking its old certificates', async () => {
        const { device, input, serial } = await enrolled();
        expect(await store.allowReenrollment(device.id, 'admin')).toBe(true);
        expect((await store.getDevice(device.id))!.reenrollAllowed).toBe(true);
        const { hash } = await newToken();
        const again = enrollInput(hash, { ekName: input.device.ekName, id: device.id });
        const result = await store.enrollDevice(again);
        expect(result.ok).toBe(true);
        if (!result.ok) return;
        expect(result.reenrolled).toBe(true);
        expect(result.revokedSerials).toEqual([serial]);
        expect(result.device.akName).toBe(again.device.akName);
        expect(result.device.reenrollAllowed).toBe(false);
        expect((await store.getCertificate(serial))!.revokedAt).not.toBeNull();
        expect((await store.getCertificate(again.certificate.serial))!.revokedAt).toBeNull();
        expect((await store.listAudit()).at(-1)!.action).toBe('device.reenroll');
        // The permission was for one enrollment.
        const { hash: h3 } = await newToken();
        expect(await store.enrollDevice(enrollInput(h3, { ekName: input.device.ekName, id: device.id }))).toEqual({ ok: false, reason: 'already-enrolled' });
        expect(await store.allowReenrollment('no-such-device', 'admin')).toBe(false);
      });
    });

    describe('devices', () => {
      it('lists with filters and records group changes', async () => {
        const a = await enrolled('dev-a');
        await enrolled('dev-b');
        expect(await store.setDeviceGroup(a.device.id, 'cameras', 'admin')).toBe(true);
        expect(await store.setDeviceGroup('nope', 'cameras', 'admin')).toBe(false);
        await expect(store.setDeviceGroup(a.device.id, 'Bad Group', 'admin')).rejects.toMatchObject({ code: 'invalid-argument' });
        await store.revokeDevice({ deviceId: 'dev-b', reason: 'admin', actor: 'admin' });
        expect((await store.listDevices()).map((d) => d.id)).toEqual(['dev-a', 'dev-b']);
        expect((await store.listDevices({ group: 'cameras' })).map((d) => d.id)).toEqual(['dev-a']);
        expect((await store.listDevices({ revoked: true })).map((d) => d.id)).toEqual(['dev-b']);
        expect((await store.listDevices({ revoked: false, status: 'none' })).map((d) => d.id)).toEqual(['dev-a']);
        expect(await store.getDevice('nope')).toBeNull();
      });

      it('lists the devices silent since a time: last verified, else created, at or before it (the staleness pre-filter)', async () => {
        const cut = T0;
        // [id, created_at, last_verified_at]
        const rows: [string, number, number | null][] = [
          ['verified-before', cut - DAY, cut - 1],
          ['verified-at', cut - DAY, cut],
          ['verified-after', cut - DAY, cut + 1],
          ['created-before-verified-after', cut - 1, cut + 60_000],
          ['never-created-before', cut - 1, null],
          ['never-created-at', cut, null],
          ['never-created-after', cut + 1, null],
          ['revoked-silent', cut - DAY, cut - DAY],
        ];
        for (const [id] of rows) await enrolled(id);
        await store.revokeDevice({ deviceId: 'revoked-silent', reason: 'admin', actor: 'admin' });
        await fixture.externalSql(
          rows.map(([id, created, verified]) => `UPDATE devices SET created_at = ${created}, last_verified_at = ${verified ?? 'NULL'} WHERE id = '${id}'`).join('; '),
        );
        const ids = async (filter: Parameters<Store['listDevices']>[0]) => (await store.listDevices(filter)).map((d) => d.id);
        expect(await ids({ revoked: false, silentSince: cut })).toEqual(['never-created-at', 'never-created-before', 'verified-at', 'verified-before']);
        expect(await ids({ silentSince: cut })).toEqual(['never-created-at', 'never-created-before', 'revoked-silent', 'verified-at', 'verified-before']);
        expect(await ids({ revoked: false, silentSince: cut - 1 })).toEqual(['never-created-before', 'verified-before']);
        expect(await ids({ revoked: false, silentSince: cut - DAY - 1 })).toEqual([]);
        expect(await ids({ revoked: false, silentSince: cut + 60_000 })).toEqual(rows.map(([id]) => id).filter((id) => id !== 'revoked-silent').sort());
        // The devices are whole, as without the filter.
        const [device] = await store.listDevices({ silentSince: cut - 1, limit: 1 });
        expect(device).toEqual(await store.getDevice('never-created-before'));
        // A verdict takes a device out of the listing.
        const receivedAt = cut + 5;
        await store.recordAttestation({
          attestation: { deviceId: 'verified-before', challengeId: null, receivedAt, evidenceDigest: hex(32), status: 'affirming', verdict: null, error: null, policy: null, tpmClock: null },
          device: { status: 'affirming', verified: true },
          actor: 'verifier',
        });
        expect(await ids({ revoked: false, silentSince: cut })).toEqual(['never-created-at', 'never-created-before', 'verified-at']);
        expect(await ids({ revoked: false, silentSince: receivedAt })).toContain('verified-before');
      });

      it('pages the listing by id (afterId, limit): the whole set in id order, no duplicates, no gaps', async () => {
        // Punctuation sorts differently in byte order and in most locales' collations.
        const wanted = ['a', 'a-1', 'a.1', 'a0', 'a_1', 'aa', 'b', 'b-', 'b.', 'b_', 'z9'];
        for (let i = 0; i < 14; i++) wanted.push(`dev-${String(i).padStart(2, '0')}`);
        for (const id of wanted) await enrolled(id);
        await store.revokeDevice({ deviceId: 'a0', reason: 'admin', actor: 'admin' });
        // Half of them silent since the cut: verified long before it; the others just after.
        const cut = T0;
        const silent = wanted.filter((_, i) => i % 2 === 0);
        await fixture.externalSql(
          wanted.map((id) => `UPDATE devices SET created_at = ${cut - DAY}, last_verified_at = ${silent.includes(id) ? cut - 1000 : cut + 1000} WHERE id = '${id}'`).join('; '),
        );
        const byteOrder = [...wanted].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
        const whole = (await store.listDevices()).map((d) => d.id);
        expect(whole).toEqual(byteOrder);

        async function walk(filter: Parameters<Store['listDevices']>[0], limit: number): Promise<string[][]> {
          const pages: string[][] = [];
          let afterId: string | undefined;
          for (;;) {
            const page = (await store.listDevices({ ...filter, afterId, limit })).map((d) => d.id);
            expect(page.length).toBeLessThanOrEqual(limit);
            pages.push(page);
            if (page.length < limit) return pages;
            if (pages.length > 100) throw new Error(`no end to the pages: ${JSON.stringify(pages.slice(0, 3))}…`);
            afterId = page.at(-1);
          }
        }
        for (const limit of [1, 4, 5, 25, 100]) {
          const pages = await walk({}, limit);
          expect(pages.flat()).toEqual(byteOrder);
          expect(pages.slice(0, -1).every((p) => p.length === limit)).toBe(true);
        }
        // With the other filters: the same set as unpaged.
        for (const filter of [{ revoked: false }, { revoked: false, silentSince: cut }, { silentSince: cut - 1000 }]) {
          const unpaged = (await store.listDevices(filter)).map((d) => d.id);
          expect(unpaged.length).toBeGreaterThan(3);
          expect((await walk(filter, 3)).flat()).toEqual(unpaged);
        }
        expect((await store.listDevices({ revoked: false, silentSince: cut })).map((d) => d.id)).toEqual(byteOrder.filter((id) => silent.includes(id) && id !== 'a0'));
        // afterId need not be a device's id; past the last one, nothing.
        expect((await store.listDevices({ afterId: 'a-', limit: 2 })).map((d) => d.id)).toEqual(['a-1', 'a.1']);
        expect(await store.listDevices({ afterId: 'z9' })).toEqual([]);
        expect((await store.listDevices({ limit: 10_000 })).length).toBe(wanted.length);
      });

      it('refuses an invalid page limit or silentSince, naming it', async () => {
        await enrolled('dev-a');
        for (const limit of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 10_001]) {
          await expect(store.listDevices({ limit })).rejects.toSatisfy((err: unknown) => err instanceof StoreError && err.code === 'invalid-argument' && /device list limit/.test(err.message));
        }
        for (const silentSince of [-1, 1.5, Number.NaN]) {
          await expect(store.listDevices({ silentSince })).rejects.toSatisfy((err: unknown) => err instanceof StoreError && err.code === 'invalid-argument' && /silentSince/.test(err.message));
        }
      });
    });

    // ── tokens ───────────────────────────────────────────────────────────

    describe('enrollment tokens', () => {
      it('check does not consume; consume does, until used up', async () => {
        const { hash, record } = await newToken({ maxUses: 2, expiresAt: T0 + 1000 });
        expect(record).toMatchObject({ maxUses: 2, uses: 0, label: 'test', expiresAt: T0 + 1000, revokedAt: null });
        for (let i = 0; i < 3; i++) expect((await store.checkToken(hash, T0)).ok).toBe(true);
        const one = await store.consumeToken(hash, T0);
        expect(one.ok && one.token.uses).toBe(1);
        const two = await store.consumeToken(hash, T0);
        expect(two.ok && two.token.uses).toBe(2);
        expect(await store.consumeToken(hash, T0)).toEqual({ ok: false, reason: 'used-up' });
        expect(await store.checkToken(hash, T0)).toEqual({ ok: false, reason: 'used-up' });
        expect((await store.listAudit()).filter((e) => e.action === 'token.use')).toHaveLength(2);
      });

      it('names why a token is refused: unknown, expired (at the instant of expiry), revoked', async () => {
        const { hash, record } = await newToken({ expiresAt: T0 });
        expect(await store.consumeToken(hashEnrollmentToken('vgl_nope'), T0 - 1)).toEqual({ ok: false, reason: 'unknown' });
        expect((await store.checkToken(hash, T0 - 1)).ok).toBe(true);
        expect(await store.consumeToken(hash, T0)).toEqual({ ok: false, reason: 'expired' });
        expect(await store.revokeToken(record.id, 'admin')).toBe(true);
        expect(await store.revokeToken(record.id, 'admin')).toBe(false);
        expect(await store.consumeToken(hash, T0 - 1)).toEqual({ ok: false, reason: 'revoked' });
        expect((await store.listTokens())[0]!.revokedAt).not.toBeNull();
      });

      it('validates what it is given', async () => {
        const bad = [
          { hash: 'not-a-hash', maxUses: 1 },
          { hash: hex(32), maxUses: 0 },
          { hash: hex(32), maxUses: 1.5 },
          { hash: hex(32), maxUses: 1, deviceName: 'Not/Valid' },
          { hash: hex(32), maxUses: 1, label: 'a\nb' },
        ];
        for (const b of bad) {
          await expect(store.createToken({ expiresAt: T0, actor: 't', ...b })).rejects.toMatchObject({ code: 'invalid-argument' });
        }
        const h = hex(32);
        await store.createToken({ hash: h, maxUses: 1, expiresAt: T0, actor: 't' });
        await expect(store.createToken({ hash: h, maxUses: 1, expiresAt: T0, actor: 't' })).rejects.toBeInstanceOf(StoreError);
      });

      it('a token with N uses is consumed exactly N times by concurrent callers on two connections', async () => {
        const other = await secondConnection();
        const { hash } = await newToken({ maxUses: 3 });
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? store : other).consumeToken(hash, Date.now())),
        );
        expect(results.filter((r) => r.ok)).toHaveLength(3);
        expect(results.filter((r) => !r.ok && r.reason === 'used-up')).toHaveLength(17);
        expect((await store.listTokens())[0]!.uses).toBe(3);
      });
    });

    // ── enrollment sessions ──────────────────────────────────────────────

    describe('enrollment sessions', () => {
      it('are single-use, bound to the bootstrap client, expiring, and hand the secret back once', async () => {
        const secret = randomBytes(32);
        const bootstrapId = hex(32);
        const s = await store.createEnrollmentSession({ id: randomId(), bootstrapId, secret, context: { deviceId: 'x', n: [1, 2] }, expiresAt: T0 + 1000 });
        expect(s.usedAt).toBeNull();
        expect(await store.consumeEnrollmentSession('unknown-session-id', bootstrapId, T0)).toEqual({ ok: false, reason: 'unknown' });
        expect(await store.consumeEnrollmentSession(s.id, hex(32), T0)).toEqual({ ok: false, reason: 'other-client' });
        const used = await store.consumeEnrollmentSession(s.id, bootstrapId, T0);
        expect(used.ok).toBe(true);
        if (used.ok) {
          expect(Buffer.from(used.session.secret)).toEqual(secret);
          expect(used.session.context).toEqual({ deviceId: 'x', n: [1, 2] });
          expect(used.session.usedAt).toBe(T0);
        }
        expect(await store.consumeEnrollmentSession(s.id, bootstrapId, T0)).toEqual({ ok: false, reason: 'used' });
        const late = await store.createEnrollmentSession({ id: randomId(), bootstrapId, secret, context: {}, expiresAt: T0 });
        await expect(store.createEnrollmentSession({ id: 'short', bootstrapId, secret, context: {}, expiresAt: T0 })).rejects.toMatchObject({ code: 'invalid-argument' });
        await expect(store.createEnrollmentSession({ id: randomId(), bootstrapId: 'B'.repeat(64), secret, context: {}, expiresAt: T0 })).rejects.toMatchObject({ code: 'invalid-argument' });
        expect(await store.consumeEnrollmentSession(late.id, bootstrapId, T0)).toEqual({ ok: false, reason: 'expired' });
      });
    });

    // ── challenges ───────────────────────────────────────────────────────

    describe('challenges', () => {
      it('round-trip and are consumed once, by their device, before expiry', async () => {
        const { device } = await enrolled('dev-a');
        await enrolled('dev-b');
        const nonce = randomBytes(32);
        const c = await store.createChallenge({
          id: randomId(),
          deviceId: device.id,
          nonce,
          pcrSelection: { sha256: [0, 7, 13] },
          offsets: { imaEntries: 10, modelEntries: 2, bootLogDigest: hex(32) },
          expiresAt: T0 + 30_000,
        });
        const got = (await store.getChallenge(c.id))!;
        expect(Buffer.from(got.nonce)).toEqual(nonce);
        expect(got.pcrSelection).toEqual({ sha256: [0, 7, 13] });
        expect(got.offsets).toEqual(c.offsets);
        expect(got.usedAt).toBeNull();
        expect(await store.consumeChallenge('no-such-challenge', device.id, T0)).toEqual({ ok: false, reason: 'unknown' });
        expect(await store.consumeChallenge(c.id, 'dev-b', T0)).toEqual({ ok: false, reason: 'other-device' });
        const ok = await store.consumeChallenge(c.id, device.id, T0);
        expect(ok.ok && ok.challenge.usedAt).toBe(T0);
        expect(await store.consumeChallenge(c.id, device.id, T0)).toEqual({ ok: false, reason: 'used' });
        // Reason order: other-device before used, used before expired.
        expect(await store.consumeChallenge(c.id, 'dev-b', T0 + 60_000)).toEqual({ ok: false, reason: 'other-device' });
        expect(await store.consumeChallenge(c.id, device.id, T0 + 60_000)).toEqual({ ok: false, reason: 'used' });
        const c2 = await store.createChallenge({ ...c, id: randomId(), nonce: randomBytes(32) });
        expect(await store.consumeChallenge(c2.id, device.id, T0 + 30_000)).toEqual({ ok: false, reason: 'expired' });
        expect((await store.consumeChallenge(c2.id, device.id, T0 + 29_999)).ok).toBe(true);
      });

      it('refuse an unknown device, a malformed id and a short nonce', async () => {
        const { device } = await enrolled();
        const base = { deviceId: device.id, pcrSelection: { sha256: [0] }, offsets: { imaEntries: 0, modelEntries: 0 }, expiresAt: T0 };
        await expect(store.createChallenge({ ...base, id: 'a/b', nonce: randomBytes(32) })).rejects.toMatchObject({ code: 'invalid-argument' });
        await expect(store.createChallenge({ ...base, id: randomId(), nonce: randomBytes(8) })).rejects.toMatchObject({ code: 'invalid-argument' });
        await expect(
          store.createChallenge({ id: randomId(), deviceId: 'ghost', nonce: randomBytes(32), pcrSelection: { sha256: [0] }, offsets: { imaEntries: 0, modelEntries: 0 }, expiresAt: T0 }),
        ).rejects.toMatchObject({ code: 'invalid-argument' });
      });

      it('exactly one of many concurrent answers on two connections wins', async () => {
        const other = await secondConnection();
        const { device } = await enrolled();
        const c = await store.createChallenge({ id: randomId(), deviceId: device.id, nonce: randomBytes(32), pcrSelection: { sha256: [0] }, offsets: { imaEntries: 0, modelEntries: 0 }, expiresAt: Date.now() + 60_000 });
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? other : store).consumeChallenge(c.id, device.id, Date.now())));
        expect(results.filter((r) => r.ok)).toHaveLength(1);
        expect(results.filter((r) => !r.ok && r.reason === 'used')).toHaveLength(19);
      });

      it('expired ones are pruned', async () => {
        const { device } = await enrolled();
        const base = { deviceId: device.id, nonce: randomBytes(32), pcrSelection: { sha256: [0] }, offsets: { imaEntries: 0, modelEntries: 0 } };
        const old = await store.createChallenge({ ...base, id: randomId(), expiresAt: T0 });
        const live = await store.createChallenge({ ...base, id: randomId(), expiresAt: T0 + DAY });
        await store.createEnrollmentSession({ id: randomId(), bootstrapId: hex(32), secret: randomBytes(32), context: {}, expiresAt: T0 });
        expect(await store.pruneExpired(T0 + 1)).toEqual({ challenges: 1, sessions: 1 });
        expect(await store.getChallenge(old.id)).toBeNull();
        expect(await store.getChallenge(live.id)).not.toBeNull();
      });
    });

    // ── sealed challenges: their single use ──────────────────────────────

    describe('challenge uses (sealed challenges)', () => {
      const useOf = (deviceId: string, over: { id?: string; usedAt?: number; expiresAt?: number } = {}) => ({
        id: over.id ?? sealedId(),
        deviceId,
        usedAt: over.usedAt ?? T0,
        expiresAt: over.expiresAt ?? T0 + 30_000,
      });

      it('the first use is true, every later one false, also on another connection; isChallengeUsed follows', async () => {
        const other = await secondConnection();
        const { device } = await enrolled();
        const use = useOf(device.id);
        const unrelated = sealedId();
        expect(await store.isChallengeUsed(use.id, use.expiresAt)).toBe(false);
        expect(await store.useChallenge(use)).toBe(true);
        expect(await store.isChallengeUsed(use.id, use.expiresAt)).toBe(true);
        expect(await other.isChallengeUsed(use.id, use.expiresAt)).toBe(true);
        expect(await store.useChallenge(use)).toBe(false);
        expect(await other.useChallenge({ ...use, usedAt: T0 + 1 })).toBe(false);
        // Still a replay after its expiry, while the use is kept.
        expect(await store.useChallenge({ ...use, usedAt: T0 + 60_000 })).toBe(false);
        expect(await store.isChallengeUsed(unrelated, use.expiresAt)).toBe(false);
        expect(await store.useChallenge(useOf(device.id, { id: unrelated }))).toBe(true);
        // The stored challenges are another thing: a use is not a stored challenge.
        expect(await store.getChallenge(use.id)).toBeNull();
      });

      it('takes ids of every sealed length (up to 96 characters)', async () => {
        const { device } = await enrolled();
        for (const length of [16, 38, 64, 96]) {
          const use = useOf(device.id, { id: sealedId(length) });
          expect(use.id).toHaveLength(length);
          expect(await store.useChallenge(use)).toBe(true);
          expect(await store.useChallenge(use)).toBe(false);
        }
      });

      it('refuses an unknown device, a malformed id and bad times with invalid-argument, recording nothing', async () => {
        const { device } = await enrolled();
        const ghost = useOf('ghost');
        await expect(store.useChallenge(ghost)).rejects.toSatisfy((e) => e instanceof StoreError && e.code === 'invalid-argument' && /ghost/.test(e.message));
        expect(await store.isChallengeUsed(ghost.id, ghost.expiresAt)).toBe(false);
        // The id stays usable by a device that exists.
        expect(await store.useChallenge({ ...ghost, deviceId: device.id })).toBe(true);
        const bad = [
          useOf(device.id, { id: 'a/b' + sealedId(40) }),
          useOf(device.id, { id: sealedId(15) }),
          useOf(device.id, { id: sealedId(96) + 'x' }),
          useOf(device.id, { usedAt: -1 }),
          useOf(device.id, { usedAt: 1.5 }),
          useOf(device.id, { expiresAt: Number.NaN }),
          useOf(device.id, { expiresAt: 2 ** 53 }),
        ];
        for (const use of bad) {
          await expect(store.useChallenge(use)).rejects.toMatchObject({ code: 'invalid-argument' });
          if (/^[A-Za-z0-9_-]{16,96}$/.test(use.id)) expect(await store.isChallengeUsed(use.id, Number.isSafeInteger(use.expiresAt) ? use.expiresAt : T0 + 30_000)).toBe(false);
        }
      });

      it('in a batch, each use is answered as useChallenge would, in order; an unknown device fails alone while the others commit', async () => {
        const { device } = await enrolled();
        const [a, b] = [useOf(device.id), useOf(device.id)];
        const ghost = useOf('ghost');
        const used = useOf(device.id);
        expect(await store.useChallenge(used)).toBe(true);
        const outcomes = await store.applyBatch([
          { kind: 'use-challenge', use: a },
          { kind: 'record-attestation', input: { attestation: attestation(device.id, 'affirming', { challengeId: a.id }), device: { status: 'affirming', verified: true }, actor: 'verifier' } },
          { kind: 'use-challenge', use: ghost },
          { kind: 'use-challenge', use: { ...a, usedAt: T0 + 1 } },
          { kind: 'use-challenge', use: used },
          { kind: 'use-challenge', use: { ...b, id: 'not/an/id' } },
          { kind: 'use-challenge', use: b },
        ]);
        expect(outcomes[0]).toBe(true);
        expect(outcomes[1]).toMatchObject({ attestation: { challengeId: a.id }, previousStatus: 'none' });
        expect(outcomes[2]).toBeInstanceOf(StoreError);
        expect(outcomes[2]).toMatchObject({ code: 'invalid-argument' });
        expect(outcomes[3]).toBe(false);
        expect(outcomes[4]).toBe(false);
        expect(outcomes[5]).toMatchObject({ code: 'invalid-argument' });
        expect(outcomes[6]).toBe(true);
        // What was answered is what was committed.
        expect(await store.isChallengeUsed(a.id, a.expiresAt)).toBe(true);
        expect(await store.isChallengeUsed(b.id, b.expiresAt)).toBe(true);
        expect(await store.isChallengeUsed(ghost.id, ghost.expiresAt)).toBe(false);
        expect((await store.listAttestations(device.id)).map((r) => r.challengeId)).toEqual([a.id]);
        expect((await store.getDevice(device.id))?.status).toBe('affirming');
        expect(await store.useChallenge(a)).toBe(false);
        expect(await store.useChallenge(b)).toBe(false);
      });

      it('property: in any batch, a use is true exactly when no earlier write (in the batch or before it) used its id', async () => {
        const { device } = await enrolled();
        const pool = Array.from({ length: 6 }, () => sealedId());
        const seen = new Set<string>();
        await fc.assert(
          fc.asyncProperty(fc.array(fc.nat({ max: pool.length - 1 }), { maxLength: 12 }), async (picks) => {
            const ids = picks.map((i) => pool[i]!);
            const expected = ids.map((id) => (seen.has(id) ? false : (seen.add(id), true)));
            const outcomes = await store.applyBatch(ids.map((id) => ({ kind: 'use-challenge', use: useOf(device.id, { id }) }) as const));
            expect(outcomes).toEqual(expected);
            for (const id of pool) expect(await store.isChallengeUsed(id, useOf(device.id).expiresAt)).toBe(seen.has(id));
          }),
          { numRuns: 15 },
        );
      });

      it('exactly one of many concurrent first uses on two connections wins', async () => {
        const other = await secondConnection();
        const { device } = await enrolled();
        const use = useOf(device.id);
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? other : store).useChallenge({ ...use, usedAt: Date.now() })));
        expect(results.filter((r) => r)).toHaveLength(1);
      });

      it('recordAnswer stores the use and the attestation together; a second answer is used and writes nothing, also on another connection', async () => {
        const other = await secondConnection();
        const { device } = await enrolled();
        const use = useOf(device.id);
        const answer = () => ({
          attestation: attestation(device.id, 'affirming', { challengeId: use.id }),
          device: { status: 'affirming' as const, verified: true },
          actor: 'verifier' as const,
        });
        const before = await auditCount();
        const first = await store.recordAnswer(use, answer());
        if (first === 'used') throw new Error('the first answer was refused');
        expect(first.attestation.challengeId).toBe(use.id);
        expect(first.previousStatus).toBe('none');
        expect(await other.isChallengeUsed(use.id, use.expiresAt)).toBe(true);
        expect((await store.getDevice(device.id))!.status).toBe('affirming');
        const audited = await auditCount();
        expect(audited).toBe(before + 1);
        expect(await other.recordAnswer({ ...use, usedAt: T0 + 1 }, answer())).toBe('used');
        expect(await store.recordAnswer(use, answer())).toBe('used');
        expect(await store.listAttestations(device.id)).toHaveLength(1);
        expect(await auditCount()).toBe(audited);
        // A use recorded alone (by a verifier before this one) refuses the answer too.
        const earlier = useOf(device.id);
        expect(await store.useChallenge(earlier)).toBe(true);
        expect(await store.recordAnswer(earlier, answer())).toBe('used');
        expect(await store.listAttestations(device.id)).toHaveLength(1);
      });

      it('recordAnswer: an attestation the store refuses takes its use with it, alone and in a batch', async () => {
        const { device } = await enrolled();
        const refused = () => ({ attestation: { ...attestation(device.id, 'affirming'), evidenceDigest: 'not a digest' }, actor: 'verifier' as const });
        const alone = useOf(device.id);
        await expect(store.recordAnswer(alone, refused())).rejects.toMatchObject({ code: 'invalid-argument' });
        expect(await store.isChallengeUsed(alone.id, alone.expiresAt)).toBe(false);
        const [inBatch, kept] = [useOf(device.id), useOf(device.id)];
        const outcomes = await store.applyBatch([
          { kind: 'record-answer', use: inBatch, input: refused() },
          { kind: 'record-answer', use: kept, input: { attestation: attestation(device.id, 'affirming', { challengeId: kept.id }), actor: 'verifier' } },
          { kind: 'record-answer', use: kept, input: { attestation: attestation(device.id, 'affirming', { challengeId: kept.id }), actor: 'verifier' } },
        ]);
        expect(outcomes[0]).toBeInstanceOf(StoreError);
        expect(outcomes[1]).toMatchObject({ attestation: { challengeId: kept.id } });
        expect(outcomes[2]).toBe('used');
        expect(await store.isChallengeUsed(inBatch.id, inBatch.expiresAt)).toBe(false);
        expect(await store.isChallengeUsed(kept.id, kept.expiresAt)).toBe(true);
        expect((await store.listAttestations(device.id)).map((a) => a.challengeId)).toEqual([kept.id]);
        // The use and the evidence must be the same device's.
        const crossed = useOf(device.id);
        const { device: second } = await enrolled();
        await expect(store.recordAnswer(crossed, { attestation: attestation(second.id, 'affirming'), actor: 'verifier' })).rejects.toMatchObject({ code: 'invalid-argument' });
        expect(await store.isChallengeUsed(crossed.id, crossed.expiresAt)).toBe(false);
      });

      it('exactly one of many concurrent answers to one challenge on two connections is recorded', async () => {
        const other = await secondConnection();
        const { device } = await enrolled();
        const use = useOf(device.id);
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            (i % 2 ? other : store).recordAnswer({ ...use, usedAt: T0 + i }, { attestation: attestation(device.id, 'affirming', { challengeId: use.id }), actor: 'verifier' }),
          ),
        );
        expect(results.filter((r) => r !== 'used')).toHaveLength(1);
        expect(await store.listAttestations(device.id)).toHaveLength(1);
      });

      it('pruneExpired removes uses that expired before the cut only, and counts them with the challenges', async () => {
        const { device } = await enrolled();
        const old = useOf(device.id, { expiresAt: T0 });
        const edge = useOf(device.id, { expiresAt: T0 + 1 });
        const live = useOf(device.id, { expiresAt: T0 + DAY });
        for (const u of [old, edge, live]) expect(await store.useChallenge(u)).toBe(true);
        await store.createChallenge({ id: randomId(), deviceId: device.id, nonce: randomBytes(32), pcrSelection: { sha256: [0] }, offsets: { imaEntries: 0, modelEntries: 0 }, expiresAt: T0 });
        expect(await store.pruneExpired(T0 + 1)).toEqual({ challenges: 2, sessions: 0 });
        expect(await store.isChallengeUsed(old.id, old.expiresAt)).toBe(false);
        expect(await store.isChallengeUsed(edge.id, edge.expiresAt)).toBe(true);
        expect(await store.isChallengeUsed(live.id, live.expiresAt)).toBe(true);
        expect(await store.pruneExpired(T0 + 1)).toEqual({ challenges: 0, sessions: 0 });
      });

      it('pruneExpired deletes every expired use however many there are (SQLite deletes them in slices), and nothing live', async () => {
        const { device } = await enrolled();
        // More than two of SQLite's slices (PRUNE_SLICE), spread over an hour of expiries.
        const expired = Array.from({ length: 4_500 }, (_, i) => useOf(device.id, { expiresAt: T0 - 3_600_000 + i * 800 }));
        const live = Array.from({ length: 300 }, (_, i) => useOf(device.id, { expiresAt: T0 + i }));
        for (let i = 0; i < expired.length + live.length; i += 1_000) {
          const outcomes = await store.applyBatch([...expired, ...live].slice(i, i + 1_000).map((use) => ({ kind: 'use-challenge', use }) as const));
          expect(outcomes.every((o) => o === true)).toBe(true);
        }
        expect(await store.pruneExpired(T0)).toEqual({ challenges: 4_500, sessions: 0 });
        for (const u of [expired[0]!, expired[2_000]!, expired[4_499]!]) expect(await store.isChallengeUsed(u.id, u.expiresAt)).toBe(false);
        for (const u of live) expect(await store.isChallengeUsed(u.id, u.expiresAt)).toBe(true);
        expect(await store.pruneExpired(T0)).toEqual({ challenges: 0, sessions: 0 });
      });

      it('a use is named by its id and its expiry (a sealed id carries its expiry: the verifier always names both)', async () => {
        const { device } = await enrolled();
        const use = useOf(device.id);
        expect(await store.useChallenge(use)).toBe(true);
        expect(await store.isChallengeUsed(use.id, use.expiresAt)).toBe(true);
        expect(await store.isChallengeUsed(use.id, use.expiresAt + 1)).toBe(false);
      });
    });

    // ── attestations ─────────────────────────────────────────────────────

    describe('pruneAttestations', () => {
      const HOUR = 3_600_000;
      const record = (deviceId: string, receivedAt: number) =>
        store.recordAttestation({ attestation: attestation(deviceId, 'affirming', { receivedAt }), device: { status: 'affirming', verified: true }, actor: 'verifier' });

      it('deletes what was received before the cut but each device’s latest, and nothing else', async () => {
        const { device: a } = await enrolled();
        const { device: b } = await enrolled();
        for (const t of [T0 - 3 * HOUR, T0 - 2 * HOUR, T0 - HOUR, T0 + 1]) await record(a.id, t);
        for (const t of [T0 - 3 * HOUR, T0 - 2 * HOUR]) await record(b.id, t);
        const audit = await auditCount();
        expect(await store.pruneAttestations(T0)).toBe(4);
        expect((await store.listAttestations(a.id)).map((r) => r.receivedAt)).toEqual([T0 + 1]);
        // b was last heard of before the cut: its last verdict stays.
        expect((await store.listAttestations(b.id)).map((r) => r.receivedAt)).toEqual([T0 - 2 * HOUR]);
        expect((await store.getDevice(a.id))!.status).toBe('affirming');
        expect((await store.getDevice(b.id))!.status).toBe('affirming');
        expect(await auditCount()).toBe(audit);
        expect(await store.pruneAttestations(T0)).toBe(0);
        await expect(store.pruneAttestations(Number.NaN)).rejects.toMatchObject({ code: 'invalid-argument' });
      });

      it('deletes every old attestation however many there are (in slices), the newer ones stay', async () => {
        const devices = [(await enrolled()).device.id, (await enrolled()).device.id, (await enrolled()).device.id];
        const old = Array.from({ length: 4_500 }, (_, i) => ({ deviceId: devices[i % 3]!, receivedAt: T0 - 10 * HOUR + i * 1000 }));
        const newer = Array.from({ length: 10 }, (_, i) => ({ deviceId: devices[0]!, receivedAt: T0 + i }));
        const all = [...old, ...newer];
        for (let i = 0; i < all.length; i += 1_000) {
          const outcomes = await store.applyBatch(
            all.slice(i, i + 1_000).map(({ deviceId, receivedAt }) => ({
              kind: 'record-attestation',
              input: { attestation: attestation(deviceId, 'affirming', { receivedAt }), device: { status: 'affirming', verified: true }, actor: 'verifier' },
            }) as const),
          );
          expect(outcomes.every((o) => !(o instanceof StoreError))).toBe(true);
        }
        // The two devices heard of only before the cut keep their latest.
        expect(await store.pruneAttestations(T0)).toBe(4_500 - 2);
        expect(await store.listAttestations(devices[0]!, 100)).toHaveLength(10);
        expect(await store.listAttestations(devices[1]!, 100)).toHaveLength(1);
        expect(await store.listAttestations(devices[2]!, 100)).toHaveLength(1);
      });
    });

    describe('recordAttestation', () => {
      it('stores the verdict, updates the device and audits a change of standing, together', async () => {
        const { device } = await enrolled();
        const clock = { clock: 2n ** 60n + 7n, resetCount: 3, restartCount: 1 }; // beyond 2^53: must stay exact
        const before = await auditCount();
        const r1 = await store.recordAttestation({
          attestation: attestation(device.id, 'affirming', { tpmClock: clock }),
          device: { status: 'affirming', verified: true, tpmClock: clock },
          actor: 'verifier',
        });
        expect(r1.previousStatus).toBe('none');
        expect(r1.auditSeq).not.toBeNull();
        let d = (await store.getDevice(device.id))!;
        expect(d.status).toBe('affirming');
        expect(d.lastVerifiedAt).toBe(T0);
        expect(d.tpmClock).toEqual(clock);
        expect(await auditCount()).toBe(before + 1);

        // Same standing again: recorded, not audited.
        const r2 = await store.recordAttestation({
          attestation: attestation(device.id, 'affirming', { receivedAt: T0 + 60_000 }),
          device: { status: 'affirming', verified: true },
          actor: 'verifier',
        });
        expect(r2.auditSeq).toBeNull();
        expect(await auditCount()).toBe(before + 1);
        d = (await store.getDevice(device.id))!;
        expect(d.lastVerifiedAt).toBe(T0 + 60_000);
        expect(d.tpmClock).toEqual(clock); // not given: kept

        // Contraindicated: audited with from/to and the reasons.
        const r3 = await store.recordAttestation({
          attestation: attestation(device.id, 'contraindicated', { receivedAt: T0 + 120_000 }),
          device: { status: 'contraindicated', verified: false },
          actor: 'verifier',
        });
        expect(r3.previousStatus).toBe('affirming');
        const entry = (await store.listAudit()).at(-1)!;
        expect(entry.seq).toBe(r3.auditSeq);
        expect(entry).toMatchObject({ action: 'device.status', subject: `device:${device.id}`, details: { from: 'affirming', to: 'contraindicated', attestation: r3.attestation.id } });
        expect(entry.details['reasons']).toEqual(['models/models-bad']);
        d = (await store.getDevice(device.id))!;
        expect(d.status).toBe('contraindicated');
        expect(d.lastVerifiedAt).toBe(T0 + 60_000);

        const history = await store.listAttestations(device.id);
        expect(history.map((a) => a.id)).toEqual([r3.attestation.id, r2.attestation.id, r1.attestation.id]);
        expect(history[0]!.reasons).toEqual([{ submodule: 'models', code: 'models-bad', message: 'models diverged', where: { bank: 'sha256', pcr: 13 } }]);
        expect(history[0]!.verdict).toEqual(r3.attestation.verdict);
        expect(history[2]!.tpmClock).toEqual(clock);
        expect(history[0]!.policy).toEqual({ name: 'fleet', version: 1 });
        expect(await store.listAttestations(device.id, 1)).toHaveLength(1);
      });

      it('pages through a device history newest first with beforeId, other devices never mixed in', async () => {
        const { device } = await enrolled();
        const { device: other } = await enrolled();
        const ids: number[] = [];
        for (let i = 0; i < 5; i++) {
          ids.push((await store.recordAttestation({ attestation: attestation(device.id, 'affirming', { receivedAt: T0 + i }), actor: 'verifier' })).attestation.id);
          await store.recordAttestation({ attestation: attestation(other.id, 'warning'), actor: 'verifier' });
        }
        const newestFirst = [...ids].reverse();
        const page1 = await store.listAttestations(device.id, 2);
        expect(page1.map((a) => a.id)).toEqual(newestFirst.slice(0, 2));
        const page2 = await store.listAttestations(device.id, 2, page1.at(-1)!.id);
        expect(page2.map((a) => a.id)).toEqual(newestFirst.slice(2, 4));
        const page3 = await store.listAttestations(device.id, 2, page2.at(-1)!.id);
        expect(page3.map((a) => a.id)).toEqual(newestFirst.slice(4));
        expect(await store.listAttestations(device.id, 2, page3.at(-1)!.id)).toEqual([]);
        expect(page1.concat(page2, page3).every((a) => a.deviceId === device.id)).toBe(true);
        await expect(store.listAttestations(device.id, 2, 0)).rejects.toMatchObject({ code: 'invalid-argument' });
        expect(await store.listAttestations(randomId(), 2)).toEqual([]);
      });

      it('lists what is older than any beforeId: the device’s own, another device’s, one past the newest', async () => {
        const { device } = await enrolled();
        const { device: other } = await enrolled();
        const ids: number[] = [];
        const all: number[] = [];
        const batched = async (input: RecordAttestationInput): Promise<RecordAttestationResult> => {
          const [outcome] = await store.applyBatch([{ kind: 'record-attestation', input }]);
          if (outcome instanceof StoreError) throw outcome;
          return outcome as RecordAttestationResult;
        };
        for (let i = 0; i < 6; i++) {
          const input = { attestation: attestation(device.id, 'affirming', { receivedAt: T0 + i }), device: { status: 'affirming', verified: true }, actor: 'verifier' } as const;
          // Alone, in a batch, and without a device update: each way a verdict is stored extends the history.
          const r = i % 3 === 0 ? await store.recordAttestation(input) : i % 3 === 1 ? await store.recordAttestation({ ...input, device: undefined }) : await batched(input);
          ids.push(r.attestation.id);
          all.push(r.attestation.id, (await store.recordAttestation({ attestation: attestation(other.id, 'warning'), actor: 'verifier' })).attestation.id);
        }
        const model = (before: number, limit: number) => ids.filter((id) => id < before).reverse().slice(0, limit);
        for (const before of [...all, Math.max(...all) + 1, Math.max(...all) + 1_000]) {
          for (const limit of [1, 2, 10]) {
            expect((await store.listAttestations(device.id, limit, before)).map((a) => a.id), `before ${before}, limit ${limit}`).toEqual(model(before, limit));
          }
        }
      });

      it('records evidence that could not be appraised without touching the device', async () => {
        const { device } = await enrolled();
        const before = await auditCount();
        const r = await store.recordAttestation({
          attestation: attestation(device.id, 'none', { verdict: null, error: { code: 'schema', message: '/quote must be base64' }, challengeId: null, policy: null }),
          actor: 'verifier',
        });
        expect(r.attestation.reasons).toEqual([{ submodule: 'evidence', code: 'schema', message: '/quote must be base64' }]);
        expect(r.attestation.error).toEqual({ code: 'schema', message: '/quote must be base64' });
        expect((await store.getDevice(device.id))!.updatedAt).toBe(device.updatedAt);
        expect(await auditCount()).toBe(before);
      });

      it('refuses an unknown device and writes nothing', async () => {
        await expect(
          store.recordAttestation({ attestation: attestation('ghost', 'affirming'), device: { status: 'affirming', verified: true }, actor: 'verifier' }),
        ).rejects.toMatchObject({ code: 'invalid-argument' });
        expect(await store.listAttestations('ghost')).toEqual([]);
        expect(await auditCount()).toBe(0);
      });
    });

    // ── the TPM clock: what each challenge is issued against, and only forward ──

    describe('the TPM clock', () => {
      /** The order the store keeps the device clock in: resetCount, then restartCount, then clock (TPM 2.0 Part 2 §10.11.1). */
      const later = (a: TpmClockState, b: TpmClockState): boolean =>
        a.resetCount !== b.resetCount ? a.resetCount > b.resetCount : a.restartCount !== b.restartCount ? a.restartCount > b.restartCount : a.clock > b.clock;
      const commit = (s: Store, deviceId: string, clock: TpmClockState) =>
        s.recordAttestation({
          attestation: attestation(deviceId, 'affirming', { tpmClock: clock }),
          device: { status: 'affirming', verified: true, tpmClock: clock },
          actor: 'verifier',
        });
      const newChallenge = (deviceId: string) => ({
        id: randomId(),
        deviceId,
        nonce: randomBytes(32),
        pcrSelection: { sha256: [0] },
        offsets: { imaEntries: 0, modelEntries: 0 },
        expiresAt: Date.now() + 60_000,
      });

      it('a challenge records the device clock as it stood when the challenge was created, and keeps it', async () => {
        const { device } = await enrolled();
        const first = await store.createChallenge(newChallenge(device.id));
        expect(first.tpmClockAtIssue).toBeNull(); // no verified quote yet
        const x = { clock: 2n ** 60n + 7n, resetCount: 3, restartCount: 1 }; // beyond 2^53: must stay exact
        await commit(store, device.id, x);
        const c = await store.createChallenge(newChallenge(device.id));
        expect(c.tpmClockAtIssue).toEqual(x);
        const batched = (await createChallenges([newChallenge(device.id)]))[0] as ChallengeRecord;
        expect(batched.tpmClockAtIssue).toEqual(x);

        // The device moves on; each challenge keeps what held when it was issued.
        const y = { ...x, clock: x.clock + 5000n };
        await commit(store, device.id, y);
        expect((await store.getDevice(device.id))!.tpmClock).toEqual(y);
        expect((await store.getChallenge(c.id))!.tpmClockAtIssue).toEqual(x);
        expect((await store.getChallenge(first.id))!.tpmClockAtIssue).toBeNull();
        expect((await store.createChallenge(newChallenge(device.id))).tpmClockAtIssue).toEqual(y);
        const consumed = await store.consumeChallenge(c.id, device.id, Date.now());
        expect(consumed.ok && consumed.challenge.tpmClockAtIssue).toEqual(x);
        const [viaBatch] = await consumeChallenges([{ id: batched.id, deviceId: device.id, now: Date.now() }]);
        expect(viaBatch!.ok && viaBatch!.challenge.tpmClockAtIssue).toEqual(x);

        // Another device's clock is not its anchor.
        const { device: other } = await enrolled();
        expect((await store.createChallenge(newChallenge(other.id))).tpmClockAtIssue).toBeNull();
      });

      it('the device clock only moves forward, by (resetCount, restartCount, clock): an older commit leaves it where it is', async () => {
        const { device } = await enrolled();
        const steps: Array<readonly [TpmClockState, 'moves' | 'stays']> = [
          [{ clock: 9n, resetCount: 2, restartCount: 0 }, 'moves'], // the first
          [{ clock: 10n, resetCount: 2, restartCount: 0 }, 'moves'], // 10 > 9, although "10" < "9" as text
          [{ clock: 9n, resetCount: 2, restartCount: 0 }, 'stays'], // clock back
          [{ clock: 5n, resetCount: 2, restartCount: 1 }, 'moves'], // a restart: restartCount decides before the clock
          [{ clock: 2n ** 64n - 1n, resetCount: 2, restartCount: 0 }, 'stays'], // restartCount back
          [{ clock: 1n, resetCount: 3, restartCount: 0 }, 'moves'], // a reset: resetCount decides first
          [{ clock: 2n ** 64n - 1n, resetCount: 2, restartCount: 7 }, 'stays'], // resetCount back
          [{ clock: 1n, resetCount: 3, restartCount: 0 }, 'stays'], // the same again
        ];
        let expected: TpmClockState | null = null;
        for (const [clock, effect] of steps) {
          await commit(store, device.id, clock);
          if (effect === 'moves') expected = clock;
          expect((await store.getDevice(device.id))!.tpmClock).toEqual(expected);
        }
        // Only the clock is conditional: every attestation is recorded with its own clock.
        expect((await store.listAttestations(device.id)).map((a) => a.tpmClock).reverse()).toEqual(steps.map(([clock]) => clock));
      });

      it('property: commits in any order, concurrent on two connections, leave the latest clock of them all', async () => {
        const other = await secondConnection();
        const clock = fc.record({
          clock: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(0n, 9n, 10n, 99n, 100n, 2n ** 53n + 1n)),
          resetCount: fc.integer({ min: 0, max: 3 }),
          restartCount: fc.integer({ min: 0, max: 3 }),
        });
        await fc.assert(
          fc.asyncProperty(fc.array(clock, { minLength: 1, maxLength: 8 }), async (clocks) => {
            const { device } = await enrolled();
            await Promise.all(clocks.map((c, i) => commit(i % 2 === 0 ? store : other, device.id, c)));
            const latest = clocks.reduce((m, c) => (later(c, m) ? c : m));
            expect((await store.getDevice(device.id))!.tpmClock).toEqual(latest);
          }),
          { numRuns: 25 },
        );
      });
    });

    describe('verifier log state', () => {
      const pcr = (b: string) => b.repeat(64);
      it('is written with the attestation that produced it, read back exactly, and left alone by one that has none', async () => {
        const { device } = await enrolled();
        expect(await store.getDeviceLogState(device.id)).toBeNull();
        const state = {
          deviceId: device.id,
          resetCount: 4,
          bootLogDigest: hex(32),
          ima: { entries: 120, pcrs: { sha256: { '10': pcr('a') } } },
          model: { entries: 2, pcrs: { sha1: { '13': 'b'.repeat(40) }, sha256: { '13': pcr('c') } }, measurements: [{ entry: 0, path: '/m/a.onnx', digest: pcr('d') }, { entry: 1, path: '/m/b.onnx', digest: pcr('e') }] },
          verifiedPcrs: { sha256: { '0': pcr('f'), '13': pcr('c') } },
        };
        await store.recordAttestation({ attestation: attestation(device.id, 'affirming'), device: { status: 'affirming', verified: true }, logState: state, actor: 'verifier' });
        const read = (await store.getDeviceLogState(device.id))!;
        expect(read).toMatchObject(state);
        expect(typeof read.updatedAt).toBe('number');

        await store.recordAttestation({ attestation: attestation(device.id, 'none', { verdict: null, error: { code: 'schema', message: 'x' } }), actor: 'verifier' });
        expect(await store.getDeviceLogState(device.id)).toEqual(read);

        const rebooted = { ...state, resetCount: 5, bootLogDigest: null, ima: { entries: 0, pcrs: {} }, model: { entries: 0, pcrs: {}, measurements: [] } };
        await store.recordAttestation({ attestation: attestation(device.id, 'affirming'), device: { status: 'affirming', verified: true }, logState: rebooted, actor: 'verifier' });
        expect(await store.getDeviceLogState(device.id)).toMatchObject(rebooted);
      });

      it('getDeviceStanding: the mutable fields of getDevice and the log position, in step with every write', async () => {
        const { device } = await enrolled();
        expect(await store.getDeviceStanding('nope')).toBeNull();
        const pick = (d: Device) => ({ id: d.id, akName: d.akName, facts: d.facts, status: d.status, revoked: d.revoked, reenrollAllowed: d.reenrollAllowed, group: d.group, lastVerifiedAt: d.lastVerifiedAt, tpmClock: d.tpmClock, updatedAt: d.updatedAt });
        const check = async (log: unknown) => {
          const whole = (await store.getDevice(device.id))!;
          expect(await store.getDeviceStanding(device.id)).toEqual({ ...pick(whole), log });
        };
        await check(null);
        const state = {
          deviceId: device.id,
          resetCount: 7,
          bootLogDigest: hex(32),
          ima: { entries: 12, pcrs: { sha256: { '10': pcr('a') } } },
          model: { entries: 3, pcrs: { sha256: { '13': pcr('c') } }, measurements: [] },
          verifiedPcrs: null,
        };
        await store.recordAttestation({
          attestation: attestation(device.id, 'affirming'),
          device: { status: 'affirming', verified: true, tpmClock: { clock: 99n, resetCount: 7, restartCount: 1 } },
          logState: state,
          actor: 'verifier',
        });
        await check({ resetCount: 7, bootLogDigest: state.bootLogDigest, imaEntries: 12, modelEntries: 3 });
        await store.setDeviceGroup(device.id, 'cameras', 'test');
        await store.revokeDevice({ deviceId: device.id, reason: 'admin', actor: 'test' });
        await check({ resetCount: 7, bootLogDigest: state.bootLogDigest, imaEntries: 12, modelEntries: 3 });
        expect((await store.getDeviceStanding(device.id))!).toMatchObject({ revoked: true, group: 'cameras', status: 'affirming' });
      });

      it('getDeviceStanding: read again after each change, whichever connection or process made it', async () => {
        // Each change lands while this connection has just read the standing (twice, as the verifier
        // does for a challenge and its answer): a store that kept what it read would miss it.
        const { device } = await enrolled();
        const other = await secondConnection();
        const reread = async () => {
          await store.getDeviceStanding(device.id);
          return (await store.getDeviceStanding(device.id))!;
        };
        expect(await reread()).toMatchObject({ status: 'none', revoked: false, group: null, log: null });

        await other.setDeviceGroup(device.id, 'cameras', 'test');
        expect(await reread()).toMatchObject({ group: 'cameras' });

        const log = { deviceId: device.id, resetCount: 3, bootLogDigest: hex(32), ima: { entries: 4, pcrs: {} }, model: { entries: 0, pcrs: {}, measurements: [] }, verifiedPcrs: null };
        await other.applyBatch([
          {
            kind: 'record-answer',
            use: { id: sealedId(), deviceId: device.id, usedAt: T0, expiresAt: T0 + 30_000 },
            input: { attestation: attestation(device.id, 'warning'), device: { status: 'warning', verified: true }, logState: log, actor: 'verifier' },
          },
        ]);
        expect(await reread()).toMatchObject({ status: 'warning', log: { resetCount: 3, imaEntries: 4 } });

        // This connection's own verdict.
        await store.recordAnswer(
          { id: sealedId(), deviceId: device.id, usedAt: T0 + 1, expiresAt: T0 + 30_000 },
          { attestation: attestation(device.id, 'affirming'), device: { status: 'affirming', verified: true }, logState: { ...log, ima: { entries: 9, pcrs: {} } }, actor: 'verifier' },
        );
        expect(await reread()).toMatchObject({ status: 'affirming', log: { imaEntries: 9 } });

        // Another process, behind the store's back.
        await fixture.externalSql(`UPDATE devices SET device_group = 'drones' WHERE id = '${device.id}'`);
        expect(await reread()).toMatchObject({ group: 'drones' });

        await other.revokeDevice({ deviceId: device.id, reason: 'admin', actor: 'test' });
        expect(await reread()).toMatchObject({ revoked: true });
      });

      it('is written in the attestation transaction: a refused attestation writes no state', async () => {
        const state = { deviceId: 'ghost', resetCount: 1, bootLogDigest: null, ima: { entries: 0, pcrs: {} }, model: { entries: 0, pcrs: {}, measurements: [] }, verifiedPcrs: null };
        await expect(store.recordAttestation({ attestation: attestation('ghost', 'affirming'), logState: state, actor: 'verifier' })).rejects.toMatchObject({ code: 'invalid-argument' });
        expect(await store.getDeviceLogState('ghost')).toBeNull();
      });
    });

    describe('batches (group commit)', () => {
      it('one batch of every kind: each write answered as its single-write method would, a failing one undone alone', async () => {
        const { device } = await enrolled();
        const expiresAt = Date.now() + 60_000;
        const open = await store.createChallenge({ id: randomId(), deviceId: device.id, nonce: randomBytes(32), pcrSelection: { sha256: [0] }, offsets: { imaEntries: 0, modelEntries: 0 }, expiresAt });
        const next = { id: randomId(), deviceId: device.id, nonce: randomBytes(32), pcrSelection: { sha256: [0] }, offsets: { imaEntries: 0, modelEntries: 0 }, expiresAt };
        const outcomes = await store.applyBatch([
          { kind: 'consume-challenge', request: { id: open.id, deviceId: device.id, now: Date.now() } },
          { kind: 'record-attestation', input: { attestation: attestation(device.id, 'affirming', { challengeId: open.id }), device: { status: 'affirming', verified: true }, actor: 'verifier' } },
          { kind: 'record-attestation', input: { attestation: attestation('ghost', 'affirming'), actor: 'verifier' } },
          { kind: 'create-challenge', challenge: next },
          { kind: 'consume-challenge', request: { id: open.id, deviceId: device.id, now: Date.now() } },
        ]);
        expect(outcomes[0]).toMatchObject({ ok: true, challenge: { id: open.id } });
        expect(outcomes[1]).toMatchObject({ previousStatus: 'none' });
        expect(outcomes[2]).toBeInstanceOf(StoreError);
        expect(outcomes[3]).toMatchObject({ id: next.id, usedAt: null });
        expect(outcomes[4]).toEqual({ ok: false, reason: 'used' });
        expect((await store.listAttestations(device.id)).map((a) => a.challengeId)).toEqual([open.id]);
        expect((await store.getChallenge(next.id))?.usedAt).toBeNull();
        expect(await store.applyBatch([])).toEqual([]);
        expect((await store.verifyAuditChain()).ok).toBe(true);
      });

      it('consumed in a batch, each request is answered as consumeChallenge would, in order, in one transaction', async () => {
        const { device } = await enrolled();
        const { device: other } = await enrolled();
        const mk = async (deviceId: string, expiresAt: number) => {
          const id = randomId();
          await store.createChallenge({ id, deviceId, nonce: randomBytes(32), pcrSelection: { sha256: [0] }, offsets: { imaEntries: 0, modelEntries: 0 }, expiresAt });
          return id;
        };
        const now = Date.now();
        const ok = await mk(device.id, now + 60_000);
        const theirs = await mk(other.id, now + 60_000);
        const expired = await mk(device.id, now - 1);
        const results = await consumeChallenges([
          { id: ok, deviceId: device.id, now },
          { id: ok, deviceId: device.id, now },
          { id: theirs, deviceId: device.id, now },
          { id: expired, deviceId: device.id, now },
          { id: randomId(), deviceId: device.id, now },
        ]);
        expect(results.map((r) => (r.ok ? 'ok' : r.reason))).toEqual(['ok', 'used', 'other-device', 'expired', 'unknown']);
        expect(await consumeChallenges([])).toEqual([]);
      });

      it('created in a batch, each challenge is stored on its own terms: a refused one is returned as its error, the others are kept and usable once', async () => {
        const { device } = await enrolled();
        const expiresAt = Date.now() + 60_000;
        const mk = (deviceId: string, nonceBytes = 32) => ({ id: randomId(), deviceId, nonce: randomBytes(nonceBytes), pcrSelection: { sha256: [0, 7] }, offsets: { imaEntries: 3, modelEntries: 1 }, expiresAt });
        const good = mk(device.id);
        const ghost = mk('ghost');
        const shortNonce = mk(device.id, 4);
        const second = mk(device.id);
        const results = await createChallenges([good, ghost, shortNonce, second]);
        expect(results.map((r) => (r instanceof StoreError ? r.code : 'created'))).toEqual(['created', 'invalid-argument', 'invalid-argument', 'created']);
        const created = results[0] as ChallengeRecord;
        expect(created).toMatchObject({ id: good.id, deviceId: device.id, pcrSelection: good.pcrSelection, offsets: good.offsets, expiresAt, usedAt: null });
        expect(Buffer.from(created.nonce).equals(good.nonce)).toBe(true);
        // Stored as createChallenge would have stored them: readable, and consumed once only.
        expect(await store.getChallenge(ghost.id)).toBeNull();
        expect(await store.getChallenge(shortNonce.id)).toBeNull();
        const now = Date.now();
        const used = await consumeChallenges([
          { id: good.id, deviceId: device.id, now },
          { id: second.id, deviceId: device.id, now },
          { id: good.id, deviceId: device.id, now },
        ]);
        expect(used.map((r) => (r.ok ? 'ok' : r.reason))).toEqual(['ok', 'ok', 'used']);
        expect(await createChallenges([])).toEqual([]);
      });

      it('recorded in a batch, each attestation commits on its own terms: a refused one is returned as its error, the others are kept', async () => {
        const { device } = await enrolled();
        const state = { deviceId: device.id, resetCount: 1, bootLogDigest: null, ima: { entries: 0, pcrs: {} }, model: { entries: 0, pcrs: {}, measurements: [] }, verifiedPcrs: null };
        const results = await recordAttestations([
          { attestation: attestation(device.id, 'affirming'), device: { status: 'affirming', verified: true }, actor: 'verifier' },
          { attestation: attestation('ghost', 'affirming'), device: { status: 'affirming', verified: true }, logState: { ...state, deviceId: 'ghost' }, actor: 'verifier' },
          { attestation: attestation(device.id, 'warning', { receivedAt: T0 + 1 }), device: { status: 'warning', verified: true }, logState: state, actor: 'verifier' },
        ]);
        expect(results[0]).toMatchObject({ previousStatus: 'none' });
        expect(results[1]).toBeInstanceOf(StoreError);
        expect(results[1]).toMatchObject({ code: 'invalid-argument' });
        expect(results[2]).toMatchObject({ previousStatus: 'affirming' });
        const history = await store.listAttestations(device.id);
        expect(history.map((h) => h.status)).toEqual(['warning', 'affirming']);
        expect((await store.getDevice(device.id))?.status).toBe('warning');
        expect(await store.getDeviceLogState(device.id)).toMatchObject({ resetCount: 1 });
        expect(await store.getDeviceLogState('ghost')).toBeNull();
        expect((await store.verifyAuditChain()).ok).toBe(true);
      });
    });

    describe('setDeviceStatus', () => {
      it('changes the status outside an attestation, audited with its reason; no change, no entry', async () => {
        const { device } = await enrolled();
        await store.recordAttestation({ attestation: attestation(device.id, 'affirming'), device: { status: 'affirming', verified: true }, actor: 'verifier' });
        const before = await auditCount();
        expect(await store.setDeviceStatus({ deviceId: device.id, status: 'warning', reason: 'stale', actor: 'staleness' })).toBe(true);
        expect((await store.getDevice(device.id))!.status).toBe('warning');
        expect((await store.listAudit()).at(-1)).toMatchObject({ actor: 'staleness', action: 'device.status', details: { from: 'affirming', to: 'warning', reason: 'stale' } });
        expect(await store.setDeviceStatus({ deviceId: device.id, status: 'warning', reason: 'stale', actor: 'staleness' })).toBe(true);
        expect(await auditCount()).toBe(before + 1);
        expect(await store.setDeviceStatus({ deviceId: 'ghost', status: 'warning', reason: 'stale', actor: 'staleness' })).toBe(false);
      });

      it('conditioned on the last verification read: a verdict recorded since wins, and nothing changes', async () => {
        const { device } = await enrolled();
        expect(device.lastVerifiedAt).toBeNull();
        // The caller read the device before its first verdict; the verdict lands before the change commits.
        await store.recordAttestation({ attestation: attestation(device.id, 'affirming'), device: { status: 'affirming', verified: true }, actor: 'verifier' });
        const verified = (await store.getDevice(device.id))!;
        expect(verified.lastVerifiedAt).not.toBeNull();
        const before = await auditCount();
        expect(await store.setDeviceStatus({ deviceId: device.id, status: 'warning', reason: 'stale', actor: 'staleness', ifLastVerifiedAt: null })).toBe(false);
        expect(await store.setDeviceStatus({ deviceId: device.id, status: 'warning', reason: 'stale', actor: 'staleness', ifLastVerifiedAt: verified.lastVerifiedAt! - 1 })).toBe(false);
        expect((await store.getDevice(device.id))!.status).toBe('affirming');
        expect(await auditCount()).toBe(before);
        // Read as it stands: the change is made.
        expect(await store.setDeviceStatus({ deviceId: device.id, status: 'warning', reason: 'stale', actor: 'staleness', ifLastVerifiedAt: verified.lastVerifiedAt })).toBe(true);
        expect((await store.getDevice(device.id))!.status).toBe('warning');
        expect(await auditCount()).toBe(before + 1);
        // Never verified, read as such: made.
        const { device: fresh } = await enrolled();
        expect(await store.setDeviceStatus({ deviceId: fresh.id, status: 'warning', reason: 'stale', actor: 'staleness', ifLastVerifiedAt: null })).toBe(true);
        expect((await store.getDevice(fresh.id))!.status).toBe('warning');
      });
    });

    // ── revocation ───────────────────────────────────────────────────────

    describe('revokeDevice and reinstateDevice', () => {
      it('revokes the device and its valid certificates, records and audits it, and returns the serials', async () => {
        const { device, serial } = await enrolled();
        const renewed = hex(16);
        await store.addCertificate({ serial: renewed, deviceId: device.id, notBefore: T0, notAfter: T0 + DAY, pem: 'PEM' }, 'verifier');
        const r = await store.revokeDevice({ deviceId: device.id, reason: 'contraindicated', message: 'PCR 13 diverged', actor: 'verifier' });
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect([...r.revocation.serials].sort()).toEqual([serial, renewed].sort());
        expect(r.revocation).toMatchObject({ deviceId: device.id, reason: 'contraindicated', message: 'PCR 13 diverged', actor: 'verifier', reinstatedAt: null });
        expect((await store.getDevice(device.id))!.revoked).toBe(true);
        const crl = await store.listRevokedCertificates();
        expect(crl.map((c) => c.serial).sort()).toEqual([serial, renewed].sort());
        expect(crl.every((c) => c.reason === 'contraindicated' && c.deviceId === device.id && c.revokedAt === r.revocation.revokedAt)).toBe(true);
        expect(await store.listRevocations(device.id)).toEqual([r.revocation]);
        const entry = (await store.listAudit()).at(-1)!;
        expect(entry).toMatchObject({ action: 'device.revoke', details: { reason: 'contraindicated', revocation: r.revocation.id } });
        expect(await store.revokeDevice({ deviceId: device.id, reason: 'admin', actor: 'admin' })).toEqual({ ok: false, reason: 'already-revoked' });
        expect(await store.revokeDevice({ deviceId: 'ghost', reason: 'admin', actor: 'admin' })).toEqual({ ok: false, reason: 'unknown-device' });
      });

      it('a revocation conditioned on the last verification read is refused once the device was verified since', async () => {
        const { device, serial } = await enrolled();
        await store.recordAttestation({ attestation: attestation(device.id, 'affirming'), device: { status: 'affirming', verified: true }, actor: 'verifier' });
        const verified = (await store.getDevice(device.id))!;
        const before = await auditCount();
        expect(await store.revokeDevice({ deviceId: device.id, reason: 'stale', actor: 'staleness', ifLastVerifiedAt: null })).toEqual({ ok: false, reason: 'verified-since' });
        // Nothing of the revocation happened: device, certificates, revocations, audit.
        expect((await store.getDevice(device.id))!.revoked).toBe(false);
        expect((await store.listRevokedCertificates()).map((c) => c.serial)).not.toContain(serial);
        expect(await store.listRevocations(device.id)).toEqual([]);
        expect(await auditCount()).toBe(before);
        const r = await store.revokeDevice({ deviceId: device.id, reason: 'stale', actor: 'staleness', ifLastVerifiedAt: verified.lastVerifiedAt });
        expect(r.ok).toBe(true);
        expect((await store.getDevice(device.id))!.revoked).toBe(true);
        // Already revoked comes first, whatever the condition.
        expect(await store.revokeDevice({ deviceId: device.id, reason: 'stale', actor: 'staleness', ifLastVerifiedAt: null })).toEqual({ ok: false, reason: 'already-revoked' });
      });

      it('reinstates only a revoked device, to status none, with re-enrollment allowed and old certificates still revoked', async () => {
        const { device, serial } = await enrolled();
        await store.recordAttestation({ attestation: attestation(device.id, 'affirming'), device: { status: 'affirming', verified: true }, actor: 'verifier' });
        expect(await store.reinstateDevice({ deviceId: device.id, actor: 'admin' })).toEqual({ ok: false, reason: 'not-revoked' });
        expect(await store.reinstateDevice({ deviceId: 'ghost', actor: 'admin' })).toEqual({ ok: false, reason: 'unknown-device' });
        await store.revokeDevice({ deviceId: device.id, reason: 'admin', actor: 'admin' });
        const r = await store.reinstateDevice({ deviceId: device.id, actor: 'admin', message: 'false alarm' });
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.device).toMatchObject({ revoked: false, status: 'none', reenrollAllowed: true, lastVerifiedAt: null });
        expect((await store.getCertificate(serial))!.revokedAt).not.toBeNull();
        expect((await store.listRevocations(device.id))[0]!.reinstatedAt).not.toBeNull();
        expect((await store.listAudit()).at(-1)).toMatchObject({ action: 'device.reinstate', details: { message: 'false alarm' } });
      });
    });

    describe('revocation side effects', () => {
      it('a new revocation is pending until its side effects are marked applied', async () => {
        const { device } = await enrolled();
        const { device: other } = await enrolled();
        const r1 = await store.revokeDevice({ deviceId: device.id, reason: 'contraindicated', actor: 'verifier' });
        const r2 = await store.revokeDevice({ deviceId: other.id, reason: 'stale', actor: 'staleness' });
        if (!r1.ok || !r2.ok) throw new Error('revocation refused');
        expect(r1.revocation.effectsAppliedAt).toBeNull();
        expect((await store.listRevocationsPendingEffects()).map((r) => r.id)).toEqual([r1.revocation.id, r2.revocation.id]);
        await store.markRevocationEffectsApplied(r1.revocation.id, T0);
        expect((await store.listRevocationsPendingEffects()).map((r) => r.id)).toEqual([r2.revocation.id]);
        expect((await store.listRevocations(device.id))[0]!.effectsAppliedAt).toBe(T0);
        // Marking again keeps the first time.
        await store.markRevocationEffectsApplied(r1.revocation.id, T0 + 5);
        expect((await store.listRevocations(device.id))[0]!.effectsAppliedAt).toBe(T0);
      });
    });

    describe('webhook outbox', () => {
      it('enqueues once per event key, hands out due calls oldest first, and records attempts', async () => {
        const a = await store.enqueueWebhook({ eventKey: 'revocation:1', kind: 'revocation', body: '{"a":1}', notBefore: T0 });
        expect(a.created).toBe(true);
        expect(a.delivery).toMatchObject({ eventKey: 'revocation:1', kind: 'revocation', body: '{"a":1}', attempts: 0, nextAttemptAt: T0, deliveredAt: null, failedAt: null });
        const again = await store.enqueueWebhook({ eventKey: 'revocation:1', kind: 'revocation', body: '{"other":true}', notBefore: T0 });
        expect(again).toEqual({ delivery: a.delivery, created: false });
        const b = await store.enqueueWebhook({ eventKey: 'revocation:2', kind: 'revocation', body: '{"b":2}', notBefore: T0 + 10 });
        expect((await store.dueWebhooks(T0, 10)).map((d) => d.id)).toEqual([a.delivery.id]);
        expect((await store.dueWebhooks(T0 + 10, 10)).map((d) => d.id)).toEqual([a.delivery.id, b.delivery.id]);
        expect(await store.nextWebhookDue()).toBe(T0);

        await store.recordWebhookAttempt({ id: a.delivery.id, at: T0 + 1, outcome: 'retry', error: 'HTTP 503', nextAttemptAt: T0 + 1000 });
        expect((await store.dueWebhooks(T0 + 10, 10)).map((d) => d.id)).toEqual([b.delivery.id]);
        expect(await store.nextWebhookDue()).toBe(T0 + 10);
        await store.recordWebhookAttempt({ id: b.delivery.id, at: T0 + 11, outcome: 'delivered' });
        expect(await store.nextWebhookDue()).toBe(T0 + 1000);
        const before = await auditCount();
        await store.recordWebhookAttempt({ id: a.delivery.id, at: T0 + 1001, outcome: 'failed', error: 'gave up after 2 attempts' });
        expect(await store.nextWebhookDue()).toBeNull();
        expect(await store.dueWebhooks(T0 + 100_000, 10)).toEqual([]);
        const [newest, oldest] = await store.listWebhooks();
        expect(newest).toMatchObject({ id: b.delivery.id, attempts: 1, deliveredAt: T0 + 11, lastError: null });
        expect(oldest).toMatchObject({ id: a.delivery.id, attempts: 2, failedAt: T0 + 1001, lastError: 'gave up after 2 attempts' });
        expect(await auditCount()).toBe(before + 1);
        expect((await store.listAudit()).at(-1)).toMatchObject({ action: 'webhook.failed', details: { eventKey: 'revocation:1', attempts: 2 } });
        // A finished delivery takes no more attempts.
        await store.recordWebhookAttempt({ id: b.delivery.id, at: T0 + 2000, outcome: 'failed', error: 'late' });
        expect((await store.listWebhooks())[0]).toMatchObject({ deliveredAt: T0 + 11, failedAt: null });
      });
    });

    // ── policies ─────────────────────────────────────────────────────────

    describe('policies', () => {
      it('are versioned per name, immutable, with a digest of their canonical JSON', async () => {
        const v1 = await store.createPolicyVersion({ name: 'fleet', document: { pcrs: { sha256: { '0': 'aa' } }, b: 1 }, actor: 'admin' });
        const v2 = await store.createPolicyVersion({ name: 'fleet', document: { b: 2 }, actor: 'admin' });
        const other = await store.createPolicyVersion({ name: 'lab', document: { b: 1, pcrs: { sha256: { '0': 'aa' } } }, actor: 'admin' });
        expect([v1.version, v2.version, other.version]).toEqual([1, 2, 1]);
        // The digest is SHA-256 of the canonical JSON: key order does not matter.
        expect(v1.digest).toBe(createHash('sha256').update('{"b":1,"pcrs":{"sha256":{"0":"aa"}}}').digest('hex'));
        expect(other.digest).toBe(v1.digest);
        expect(v2.digest).not.toBe(v1.digest);
        expect((await store.getPolicy('fleet'))!.version).toBe(2);
        expect((await store.getPolicy('fleet', 1))!.document).toEqual({ pcrs: { sha256: { '0': 'aa' } }, b: 1 });
        expect(await store.getPolicy('fleet', 3)).toBeNull();
        expect(await store.getPolicy('nope')).toBeNull();
        expect((await store.listPolicies()).map((p) => `${p.name}@${p.version}`)).toEqual(['fleet@2', 'lab@1']);
        expect((await store.listAudit()).filter((e) => e.action === 'policy.create').map((e) => e.subject)).toEqual(['policy:fleet@1', 'policy:fleet@2', 'policy:lab@1']);
        await expect(store.createPolicyVersion({ name: 'Bad Name', document: {}, actor: 'admin' })).rejects.toMatchObject({ code: 'invalid-argument' });
      });

      it('resolve device over group over fleet, pinned or following the latest version', async () => {
        const { device } = await enrolled('dev-a');
        await store.createPolicyVersion({ name: 'fleet', document: { v: 1 }, actor: 'admin' });
        await store.createPolicyVersion({ name: 'cams', document: { v: 1 }, actor: 'admin' });
        await store.createPolicyVersion({ name: 'special', document: { v: 1 }, actor: 'admin' });
        expect(await store.resolvePolicy(device.id)).toBeNull();

        expect(await store.assignPolicy({ target: { kind: 'all' }, policyName: 'nope', actor: 'admin' })).toEqual({ ok: false, reason: 'unknown-policy' });
        expect(await store.assignPolicy({ target: { kind: 'all' }, policyName: 'fleet', policyVersion: 9, actor: 'admin' })).toEqual({ ok: false, reason: 'unknown-version' });
        expect(await store.assignPolicy({ target: { kind: 'device', deviceId: 'ghost' }, policyName: 'fleet', actor: 'admin' })).toEqual({ ok: false, reason: 'unknown-device' });

        expect((await store.assignPolicy({ target: { kind: 'all' }, policyName: 'fleet', actor: 'admin' })).ok).toBe(true);
        expect((await store.resolvePolicy(device.id))!.policy.name).toBe('fleet');
        await store.createPolicyVersion({ name: 'fleet', document: { v: 2 }, actor: 'admin' });
        expect((await store.resolvePolicy(device.id))!.policy.version).toBe(2); // follows the latest

        await store.assignPolicy({ target: { kind: 'group', group: 'cameras' }, policyName: 'cams', actor: 'admin' });
        expect((await store.resolvePolicy(device.id))!.policy.name).toBe('fleet'); // not in the group yet
        await store.setDeviceGroup(device.id, 'cameras', 'admin');
        const viaGroup = (await store.resolvePolicy(device.id))!;
        expect(viaGroup.policy.name).toBe('cams');
        expect(viaGroup.assignment.target).toEqual({ kind: 'group', group: 'cameras' });

        await store.assignPolicy({ target: { kind: 'device', deviceId: device.id }, policyName: 'fleet', policyVersion: 1, actor: 'admin' });
        const pinned = (await store.resolvePolicy(device.id))!;
        expect(pinned.policy).toMatchObject({ name: 'fleet', version: 1 });
        expect(pinned.assignment).toMatchObject({ target: { kind: 'device', deviceId: device.id }, policyVersion: 1, assignedBy: 'admin' });

        // Reassigning a target replaces its assignment.
        await store.assignPolicy({ target: { kind: 'device', deviceId: device.id }, policyName: 'special', actor: 'admin' });
        expect((await store.resolvePolicy(device.id))!.policy.name).toBe('special');
        expect(await store.listPolicyAssignments()).toHaveLength(3);
        expect(await store.resolvePolicy('ghost')).toBeNull();
      });
    });

    // ── models ───────────────────────────────────────────────────────────

    describe('model allowlist', () => {
      it('allows digests per model, revokes one or all, and re-allows', async () => {
        const d1 = hex(32);
        const d2 = hex(32);
        await store.allowModel({ name: 'yolo', digest: d1, note: 'v8', actor: 'admin' });
        await store.allowModel({ name: 'yolo', digest: d2, actor: 'admin' });
        await store.allowModel({ name: '/opt/models/llm.gguf', digest: d1, actor: 'admin' });
        expect((await store.listModels()).map((m) => `${m.name} ${m.digest === d1 ? 1 : 2}`).sort()).toEqual(['/opt/models/llm.gguf 1', 'yolo 1', 'yolo 2']);
        expect(await store.revokeModel({ name: 'yolo', digest: d1, actor: 'admin' })).toBe(1);
        expect(await store.revokeModel({ name: 'yolo', digest: d1, actor: 'admin' })).toBe(0);
        expect((await store.listModels()).filter((m) => m.name === 'yolo').map((m) => m.digest)).toEqual([d2]);
        expect(await store.revokeModel({ name: 'yolo', actor: 'admin' })).toBe(1);
        expect((await store.listModels({ includeRevoked: true })).filter((m) => m.revokedAt !== null)).toHaveLength(2);
        const back = await store.allowModel({ name: 'yolo', digest: d1, actor: 'admin' });
        expect(back.revokedAt).toBeNull();
        expect((await store.listModels()).filter((m) => m.name === 'yolo').map((m) => m.digest)).toEqual([d1]);
        await expect(store.allowModel({ name: 'yolo', digest: d1.toUpperCase(), actor: 'admin' })).rejects.toMatchObject({ code: 'invalid-argument' });
        expect((await store.listAudit()).filter((e) => e.action.startsWith('model.'))).toHaveLength(6);
      });
    });

    // ── boot logs ────────────────────────────────────────────────────────

    describe('boot event logs', () => {
      it('keeps the two most recent logs per device by digest', async () => {
        const { device } = await enrolled();
        const logs = [randomBytes(3000), randomBytes(3000), randomBytes(3000)];
        const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
        expect(await store.latestBootLog(device.id)).toBeNull();
        for (const l of logs) await store.putBootLog(device.id, digest(l), l);
        expect(await store.getBootLog(device.id, digest(logs[0]!))).toBeNull();
        expect(Buffer.from((await store.getBootLog(device.id, digest(logs[1]!)))!.data)).toEqual(logs[1]);
        expect((await store.latestBootLog(device.id))!.digest).toBe(digest(logs[2]!));
        // Sending an older log again makes it the latest.
        await store.putBootLog(device.id, digest(logs[1]!), logs[1]!);
        expect((await store.latestBootLog(device.id))!.digest).toBe(digest(logs[1]!));
        expect(await store.getBootLog(device.id, digest(logs[2]!))).not.toBeNull();
      });
    });

    // ── audit ────────────────────────────────────────────────────────────

    describe('admin credentials', () => {
      const credential = (name: string, role: 'viewer' | 'operator' | 'admin' = 'viewer') => ({
        serial: hex(16).replace(/^0+/, '') || '1',
        name,
        role,
        notBefore: T0,
        notAfter: T0 + 365 * DAY,
        actor: 'cli:root',
      });

      it('records, finds by serial and lists issued credentials, each issue audited', async () => {
        const before = await auditCount();
        const a = credential('alice', 'operator');
        const added = await store.addAdminCredential(a);
        expect(added).toMatchObject({ serial: a.serial, name: 'alice', role: 'operator', notBefore: T0, notAfter: a.notAfter, issuedBy: 'cli:root', revokedAt: null, revokedBy: null });
        expect(await store.getAdminCredential(a.serial)).toEqual(added);
        expect(await store.getAdminCredential('abc123')).toBeNull();
        const b = await store.addAdminCredential(credential('bob', 'admin'));
        expect((await store.listAdminCredentials()).map((c) => c.serial)).toEqual(expect.arrayContaining([a.serial, b.serial]));
        expect(await auditCount()).toBe(before + 2);
        expect((await store.listAudit()).at(-2)).toMatchObject({ actor: 'cli:root', action: 'admin.issue', subject: 'admin:alice', details: { serial: a.serial, role: 'operator' } });
      });

      it('revokes every active credential of a name, or one by serial, audited; nothing to revoke changes nothing', async () => {
        const c1 = await store.addAdminCredential(credential('carol'));
        const c2 = await store.addAdminCredential(credential('carol'));
        const c3 = await store.addAdminCredential(credential('carol'));
        const d = await store.addAdminCredential(credential('dave'));

        const one = await store.revokeAdminCredentials({ name: 'carol', serial: c1.serial, actor: 'admin:root' });
        expect(one.map((c) => c.serial)).toEqual([c1.serial]);
        expect(one[0]).toMatchObject({ revokedBy: 'admin:root' });
        expect((await store.getAdminCredential(c1.serial))!.revokedAt).not.toBeNull();
        expect((await store.getAdminCredential(c2.serial))!.revokedAt).toBeNull();

        const rest = await store.revokeAdminCredentials({ name: 'carol', actor: 'admin:root' });
        expect(rest.map((c) => c.serial).sort()).toEqual([c2.serial, c3.serial].sort());
        const entry = (await store.listAudit()).at(-1)!;
        expect(entry).toMatchObject({ actor: 'admin:root', action: 'admin.revoke', subject: 'admin:carol' });
        expect((entry.details['serials'] as string[]).sort()).toEqual([c2.serial, c3.serial].sort());
        expect((await store.getAdminCredential(d.serial))!.revokedAt).toBeNull();

        const before = await auditCount();
        expect(await store.revokeAdminCredentials({ name: 'carol', actor: 'admin:root' })).toEqual([]);
        expect(await store.revokeAdminCredentials({ name: 'dave', serial: c2.serial, actor: 'admin:root' })).toEqual([]);
        expect(await store.revokeAdminCredentials({ name: 'nobody', actor: 'admin:root' })).toEqual([]);
        expect(await auditCount()).toBe(before);
      });

      it('refuses bad names, roles, serials and a serial recorded twice, writing nothing', async () => {
        const ok = await store.addAdminCredential(credential('erin'));
        const before = await auditCount();
        await expect(store.addAdminCredential(credential('Erin Smith'))).rejects.toMatchObject({ code: 'invalid-argument' });
        await expect(store.addAdminCredential({ ...credential('erin'), role: 'root' as 'admin' })).rejects.toMatchObject({ code: 'invalid-argument' });
        await expect(store.addAdminCredential({ ...credential('erin'), serial: 'XYZ' })).rejects.toMatchObject({ code: 'invalid-argument' });
        await expect(store.addAdminCredential({ ...credential('frank'), serial: ok.serial })).rejects.toMatchObject({ code: 'invalid-argument' });
        await expect(store.revokeAdminCredentials({ name: '../x', actor: 'a' })).rejects.toMatchObject({ code: 'invalid-argument' });
        expect(await auditCount()).toBe(before);
        expect((await store.listAdminCredentials()).map((c) => c.name)).toEqual(['erin']);
      });
    });

    describe('audit log', () => {
      it('chains entries with the documented hash', async () => {
        const e1 = await store.appendAudit({ actor: 'cli:alice', action: 'test.first', subject: 'x:1', details: { b: [1, 'two'], a: null } });
        const e2 = await store.appendAudit({ actor: 'cli:bob', action: 'test.second', subject: 'x:2' });
        expect(e1.seq).toBe(1);
        expect(e1.prevHash).toBe('0'.repeat(64));
        const encoded =
          'vigil-audit-v1\n' +
          `{"action":"test.first","actor":"cli:alice","at":${e1.at},"details":"{\\"a\\":null,\\"b\\":[1,\\"two\\"]}","prevHash":"${'0'.repeat(64)}","seq":1,"subject":"x:1"}`;
        expect(e1.hash).toBe(createHash('sha256').update(encoded).digest('hex'));
        expect(e2.prevHash).toBe(e1.hash);
        expect(e1.details).toEqual({ a: null, b: [1, 'two'] });
        expect(await store.verifyAuditChain()).toEqual({ ok: true, entries: 2, headHash: e2.hash });
        expect((await store.listAudit({ afterSeq: 1 })).map((e) => e.seq)).toEqual([2]);
        await expect(store.appendAudit({ actor: 'a', action: 'NoDots', subject: 's' })).rejects.toMatchObject({ code: 'invalid-argument' });
      });

      it('an empty chain verifies', async () => {
        expect(await store.verifyAuditChain()).toEqual({ ok: true, entries: 0, headHash: '0'.repeat(64) });
      });

      it('stays linear under concurrent appends from two connections', async () => {
        const other = await secondConnection();
        await Promise.all(
          Array.from({ length: 60 }, (_, i) => (i % 2 ? other : store).appendAudit({ actor: `w${i % 2}`, action: 'test.append', subject: `n:${i}` })),
        );
        const all = await store.listAudit();
        expect(all.map((e) => e.seq)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
        expect(await store.verifyAuditChain()).toMatchObject({ ok: true, entries: 60 });
      });

      it('detects an entry edited behind its back, even with its hash recomputed, and a deleted entry', async () => {
        for (let i = 1; i <= 4; i++) await store.appendAudit({ actor: 'admin', action: 'test.entry', subject: `n:${i}`, details: { i } });
        expect((await store.verifyAuditChain()).ok).toBe(true);

        await fixture.externalSql(`UPDATE audit_log SET details = '{"i":20}' WHERE seq = 2`);
        const edited = await store.verifyAuditChain();
        expect(edited).toMatchObject({ ok: false, brokenSeq: 2, entries: 1 });
        expect(!edited.ok && edited.why).toMatch(/changed/);

        // A careful attacker also fixes the row's own hash: the next entry's link breaks.
        const e2 = (await store.listAudit()).find((e) => e.seq === 2)!;
        const { auditEntryHash } = await import('../src/store/index.js');
        const forged = auditEntryHash({ seq: 2, at: e2.at, actor: e2.actor, action: e2.action, subject: e2.subject, details: '{"i":20}', prevHash: e2.prevHash });
        await fixture.externalSql(`UPDATE audit_log SET hash = '${forged}' WHERE seq = 2`);
        expect(await store.verifyAuditChain()).toMatchObject({ ok: false, brokenSeq: 3, entries: 2 });

        await fixture.externalSql(`UPDATE audit_log SET details = '{"i":2}', hash = '${e2.hash}' WHERE seq = 2`);
        expect((await store.verifyAuditChain()).ok).toBe(true);
        await fixture.externalSql('DELETE FROM audit_log WHERE seq = 3');
        const deleted = await store.verifyAuditChain();
        expect(deleted).toMatchObject({ ok: false, brokenSeq: 4, entries: 2 });
        expect(!deleted.ok && deleted.why).toMatch(/missing/);
      });
    });

    // ── durability ───────────────────────────────────────────────────────

    describe('persistence', () => {
      it('everything survives closing and reopening', async () => {
        const { device, serial } = await enrolled();
        await store.createPolicyVersion({ name: 'fleet', document: { x: 1 }, actor: 'admin' });
        await store.revokeDevice({ deviceId: device.id, reason: 'admin', actor: 'admin' });
        const chain = await store.verifyAuditChain();
        await store.close();
        store = await fixture.open();
        expect((await store.getDevice(device.id))!.revoked).toBe(true);
        expect((await store.getCertificate(serial))!.revokedAt).not.toBeNull();
        expect((await store.getPolicy('fleet'))!.document).toEqual({ x: 1 });
        expect(await store.verifyAuditChain()).toEqual(chain);
      });
    });
  });
}
