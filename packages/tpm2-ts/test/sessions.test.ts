// HMAC and policy sessions against a real swtpm: cpHash/rpHash, nonce rolling,
// salting, binding, response verification, PolicySecret-gated EK use,
// PolicyPCR-sealed data.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSwtpm, type SwtpmInstance } from '../../../test/harness/swtpm.js';
import { FlushContext } from '../src/commands/context.js';
import { PCR_Extend } from '../src/commands/integrity.js';
import { NV_DefineSpace, NV_Read, NV_UndefineSpace, NV_Write } from '../src/commands/nv.js';
import { MakeCredential, Unseal } from '../src/commands/object.js';
import { TPM_ALG } from '../src/constants/alg.js';
import { TPM_RH } from '../src/constants/handles.js';
import { TPM_RC } from '../src/constants/rc.js';
import { TpmResponseError, TpmSessionError } from '../src/errors.js';
import { createAk, createKey, loadAk, loadKey } from '../src/keys/ak.js';
import { activateCredential } from '../src/keys/credential.js';
import { createEk } from '../src/keys/ek.js';
import { flushKey, keyHandle, type LoadedKey } from '../src/keys/loaded-key.js';
import { PolicyDigest, pcrValuesDigest } from '../src/policy/digest.js';
import { readPcrs } from '../src/pcrs/read.js';
import { toTpmlPcrSelection, valuesInSelectionOrder } from '../src/pcrs/selection.js';
import { policyAuthValue, policyGetDigest, policyPcr, policyRestart, policySecret } from '../src/sessions/policy.js';
import { startAuthSession } from '../src/sessions/start.js';
import { EK_POLICY_A_SHA256, EK_POLICY_B_SHA384 } from '../src/templates/ek.js';
import type { TpmtPublic } from '../src/structures/public.js';
import { SwtpmTransport } from '../src/transports/swtpm.js';
import { Tpm } from '../src/tpm.js';
import type { Transport } from '../src/transport.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const handleName = (h: number): Uint8Array => Uint8Array.of(h >>> 24, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff);

/** Passes commands through; can corrupt the next response that carries sessions. */
class TamperingTransport implements Transport {
  tamperNext = false;
  constructor(private readonly inner: Transport) {}
  async send(command: Uint8Array): Promise<Uint8Array> {
    const r = await this.inner.send(command);
    // Only a response with an authorization area (tag TPM_ST_SESSIONS).
    if (this.tamperNext && r.length > 16 && r[0] === 0x80 && r[1] === 0x02) {
      this.tamperNext = false;
      const copy = new Uint8Array(r);
      // Header (10) + parameterSize (4) + TPM2B size (2): the first data byte of NV_Read's response.
      copy[16]! ^= 0x01;
      return copy;
    }
    return r;
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

describe('sessions against swtpm', () => {
  let sim: SwtpmInstance;
  let tpm: Tpm;
  let tamper: TamperingTransport;
  const nvIndex = 0x01500200;
  const nvAuth = new Uint8Array(Buffer.from('nv-secret'));
  const nvData = new Uint8Array(randomBytes(48));

  beforeAll(async () => {
    sim = await startSwtpm();
    tamper = new TamperingTransport(new SwtpmTransport(sim.data));
    tpm = new Tpm(tamper);
    await tpm.execute(NV_DefineSpace, {
      authHandle: TPM_RH.OWNER,
      auth: nvAuth,
      publicInfo: {
        nvIndex,
        nameAlg: TPM_ALG.SHA256,
        // noDA: failed authorizations in these tests must not lock the TPM out.
        attributes: { authWrite: true, authRead: true, noDA: true },
        authPolicy: new Uint8Array(0),
        dataSize: nvData.length,
      },
    });
  });
  afterAll(async () => {
    await tpm?.execute(NV_UndefineSpace, { authHandle: TPM_RH.OWNER, nvIndex }).catch(() => undefined);
    await tpm?.close();
    await sim?.stop();
  });

  describe('HMAC sessions', () => {
    it('unbound, unsalted: authorize NV writes and reads, rolling nonces over several commands', async () => {
      const s = await startAuthSession(tpm, 'hmac');
      const auth = s.withAuth(nvAuth);
      // A bare NV handle: the default resolveName asks the TPM for its Name (NV_ReadPublic).
      await tpm.execute(NV_Write, { authHandle: nvIndex, nvIndex, data: nvData, offset: 0 }, [auth]);
      const nonces = new Set<string>();
      for (let i = 0; i < 3; i++) {
        const r = await tpm.execute(NV_Read, { authHandle: nvIndex, nvIndex, size: nvData.length, offset: 0 }, [auth]);
        expect(hex(r.data)).toBe(hex(nvData));
        nonces.add(hex(s.nonceTPM));
      }
      expect(nonces.size).toBe(3);
      await tpm.execute(FlushContext, { flushHandle: s.handle });
    });

    it('a wrong authValue fails with TPM_RC_BAD_AUTH (a noDA index) for session 1', async () => {
      const s = await startAuthSession(tpm, 'hmac');
      const e = await tpm
        .execute(NV_Read, { authHandle: nvIndex, nvIndex, size: 4, offset: 0 }, [s.withAuth(new Uint8Array(Buffer.from('wrong')))])
        .catch((x: unknown) => x);
      expect(e).toBeInstanceOf(TpmResponseError);
      // TPM_RC_AUTH_FAIL for DA-protected entities; TPM_RC_BAD_AUTH for noDA ones (Part 2 §6.6.3).
      expect((e as TpmResponseError).is(TPM_RC.BAD_AUTH)).toBe(true);
      expect((e as TpmResponseError).decoded.session).toBe(1);
      await tpm.execute(FlushContext, { flushHandle: s.handle });
    });

    it('trailing zeros of an authValue do not matter, as the spec says', async () => {
      const s = await startAuthSession(tpm, 'hmac');
      const padded = new Uint8Array([...nvAuth, 0, 0]);
      const r = await tpm.execute(NV_Read, { authHandle: nvIndex, nvIndex, size: 4, offset: 0 }, [s.withAuth(padded)]);
      expect(hex(r.data)).toBe(hex(nvData.subarray(0, 4)));
      await tpm.execute(FlushContext, { flushHandle: s.handle });
    });

    it('a response whose HMAC does not verify raises TpmSessionError', async () => {
      const s = await startAuthSession(tpm, 'hmac');
      tamper.tamperNext = true;
      await expect(tpm.execute(NV_Read, { authHandle: nvIndex, nvIndex, size: 8, offset: 0 }, [s.withAuth(nvAuth)])).rejects.toThrow(TpmSessionError);
      await tpm.execute(FlushContext, { flushHandle: s.handle });
    });

    for (const kind of ['rsa', 'ecc'] as const) {
      it(`salted with the ${kind.toUpperCase()} EK: the session key comes from a secret only the TPM can decrypt`, async () => {
        const ek = await createEk(tpm, kind);
        const s = await startAuthSession(tpm, 'hmac', { saltKey: keyHandle(ek) });
        const r = await tpm.execute(NV_Read, { authHandle: nvIndex, nvIndex, size: nvData.length, offset: 0 }, [s.withAuth(nvAuth)]);
        expect(hex(r.data)).toBe(hex(nvData));
        await tpm.execute(FlushContext, { flushHandle: s.handle });
        await flushKey(tpm, ek);
      });
    }

    it('bound to the NV index: authorizes it without the authValue in the HMAC key, and other entities with theirs', async () => {
      const s = await startAuthSession(tpm, 'hmac', { bind: { handle: nvIndex, authValue: nvAuth } });
      // For the bind entity the authValue is already in the session key: withAuth(anything) is ignored.
      const r = await tpm.execute(NV_Read, { authHandle: nvIndex, nvIndex, size: 4, offset: 0 }, [s.withAuth(new Uint8Array(0))]);
      expect(hex(r.data)).toBe(hex(nvData.subarray(0, 4)));
      // Owner hierarchy (empty auth): a different entity, so its authValue is appended.
      const other = 0x01500201;
      await tpm.execute(
        NV_DefineSpace,
        {
          authHandle: TPM_RH.OWNER,
          auth: new Uint8Array(0),
          publicInfo: { nvIndex: other, nameAlg: TPM_ALG.SHA256, attributes: { ownerWrite: true, ownerRead: true, noDA: true }, authPolicy: new Uint8Array(0), dataSize: 4 },
        },
        [s.withAuth(new Uint8Array(0))],
      );
      await tpm.execute(NV_UndefineSpace, { authHandle: TPM_RH.OWNER, nvIndex: other });
      await tpm.execute(FlushContext, { flushHandle: s.handle });
    });
  });

  describe('policy sessions', () => {
    let ek: LoadedKey;
    beforeAll(async () => {
      ek = await createEk(tpm, 'rsa');
    });
    afterAll(async () => {
      await flushKey(tpm, ek);
    });

    it('PolicySecret(TPM_RH_ENDORSEMENT) gives the EK policy digest, in a trial session and in software', async () => {
      const trial = await startAuthSession(tpm, 'trial');
      await policySecret(tpm, trial, TPM_RH.ENDORSEMENT);
      const digest = await policyGetDigest(tpm, trial);
      expect(hex(digest)).toBe(hex(EK_POLICY_A_SHA256));
      expect(hex(new PolicyDigest(TPM_ALG.SHA256).policySecret(handleName(TPM_RH.ENDORSEMENT)).digest)).toBe(hex(digest));
      await policyRestart(tpm, trial);
      expect(hex(await policyGetDigest(tpm, trial))).toBe('00'.repeat(32));
      await tpm.execute(FlushContext, { flushHandle: trial.handle });
    });

    it('the high-range P-384 EK policy is PolicyOR over PolicySecret: software digest of branch A matches in a SHA-384 trial', async () => {
      const trial = await startAuthSession(tpm, 'trial', { authHash: TPM_ALG.SHA384 });
      await policySecret(tpm, trial, TPM_RH.ENDORSEMENT);
      const a = await policyGetDigest(tpm, trial);
      expect(hex(a)).toBe(hex(new PolicyDigest(TPM_ALG.SHA384).policySecret(handleName(TPM_RH.ENDORSEMENT)).digest));
      // PolicyB is an OR of A with a branch we do not compute here; it must not equal A itself.
      expect(hex(EK_POLICY_B_SHA384)).not.toBe(hex(a));
      await tpm.execute(FlushContext, { flushHandle: trial.handle });
    });

    for (const kind of ['rsa', 'ecc', 'ecc-p384'] as const) {
      it(`ActivateCredential with the ${kind} EK releases the credential only to the AK it was made for`, async () => {
        const e = kind === 'rsa' ? ek : await createEk(tpm, kind);
        const ak = await loadAk(tpm, e, await createAk(tpm, e, 'ecc'));
        const secret = new Uint8Array(randomBytes(32));
        // TPM2_MakeCredential uses only the public part of the EK: the TPM as the verifier's calculator.
        const made = await tpm.execute(MakeCredential, { handle: e.handle, credential: secret, objectName: ak.name });
        expect(hex(await activateCredential(tpm, ak, e, made))).toBe(hex(secret));

        // Made for another Name: the integrity check inside ActivateCredential fails.
        const wrong = await tpm.execute(MakeCredential, { handle: e.handle, credential: secret, objectName: e.name });
        const err = await activateCredential(tpm, ak, e, wrong).catch((x: unknown) => x);
        expect(err).toBeInstanceOf(TpmResponseError);
        expect((err as TpmResponseError).is(TPM_RC.INTEGRITY)).toBe(true);
        await flushKey(tpm, ak);
        if (e !== ek) await flushKey(tpm, e);
      });
    }

    it('the low-range EK refuses use without its policy', async () => {
      const ak = await loadAk(tpm, ek, await createAk(tpm, ek, 'rsa'));
      const made = await tpm.execute(MakeCredential, { handle: ek.handle, credential: new Uint8Array(16), objectName: ak.name });
      const passwordOnly = { ...ek, authorize: async () => (await import('../src/sessions/password.js')).passwordSession() };
      const err = await activateCredential(tpm, ak, passwordOnly, made).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(TpmResponseError);
      expect((err as TpmResponseError).is(TPM_RC.AUTH_UNAVAILABLE)).toBe(true);
      await flushKey(tpm, ak);
    });

    describe('sealed data under the EK', () => {
      const selection = [{ hashAlg: TPM_ALG.SHA256, pcrs: [23] }];
      const sealTemplate = (authPolicy: Uint8Array): TpmtPublic => ({
        type: TPM_ALG.KEYEDHASH,
        nameAlg: TPM_ALG.SHA256,
        // No userWithAuth: only the policy can authorize Unseal.
        objectAttributes: { fixedTPM: true, fixedParent: true, noDA: true },
        authPolicy,
        parameters: { scheme: { scheme: TPM_ALG.NULL, details: null } },
        unique: new Uint8Array(0),
      });

      it('PolicyPCR: unseals while PCR 23 holds its value, and not after PCR_Extend', async () => {
        const current = await readPcrs(tpm, selection);
        const pcrDigest = pcrValuesDigest(TPM_ALG.SHA256, valuesInSelectionOrder(selection, current.values));
        const expected = new PolicyDigest(TPM_ALG.SHA256).policyPcr(toTpmlPcrSelection(selection), pcrDigest).digest;
        // The trial session agrees with the software digest.
        const trial = await startAuthSession(tpm, 'trial');
        await policyPcr(tpm, trial, toTpmlPcrSelection(selection), pcrDigest);
        expect(hex(await policyGetDigest(tpm, trial))).toBe(hex(expected));
        await tpm.execute(FlushContext, { flushHandle: trial.handle });

        const secret = new Uint8Array(randomBytes(24));
        const sealed = await loadKey(tpm, ek, await createKey(tpm, ek, sealTemplate(expected), { data: secret }));
        const s = await startAuthSession(tpm, 'policy');
        await policyPcr(tpm, s, toTpmlPcrSelection(selection));
        expect(hex((await tpm.execute(Unseal, { itemHandle: keyHandle(sealed) }, [s])).outData)).toBe(hex(secret));

        await tpm.execute(PCR_Extend, { pcrHandle: 23, digests: [{ hashAlg: TPM_ALG.SHA256, digest: createHash('sha256').update('change').digest() }] });
        await policyPcr(tpm, s, toTpmlPcrSelection(selection));
        const err = await tpm.execute(Unseal, { itemHandle: keyHandle(sealed) }, [s]).catch((x: unknown) => x);
        expect(err).toBeInstanceOf(TpmResponseError);
        expect((err as TpmResponseError).is(TPM_RC.POLICY_FAIL)).toBe(true);
        await tpm.execute(FlushContext, { flushHandle: s.handle });
        await flushKey(tpm, sealed);
      });

      it('PolicyAuthValue: the policy session HMAC is keyed with the object authValue', async () => {
        const userAuth = new Uint8Array(Buffer.from('seal-pw'));
        const policy = new PolicyDigest(TPM_ALG.SHA256).policyAuthValue().digest;
        const secret = new Uint8Array(randomBytes(8));
        const sealed = await loadKey(tpm, ek, await createKey(tpm, ek, sealTemplate(policy), { userAuth, data: secret }));
        const s = await startAuthSession(tpm, 'policy');
        await policyAuthValue(tpm, s);
        expect(hex((await tpm.execute(Unseal, { itemHandle: keyHandle(sealed) }, [s.withAuth(userAuth)])).outData)).toBe(hex(secret));
        await policyAuthValue(tpm, s);
        const err = await tpm.execute(Unseal, { itemHandle: keyHandle(sealed) }, [s.withAuth(new Uint8Array(Buffer.from('nope')))]).catch((x: unknown) => x);
        expect((err as TpmResponseError).is(TPM_RC.BAD_AUTH)).toBe(true);
        await tpm.execute(FlushContext, { flushHandle: s.handle });
        await flushKey(tpm, sealed);
      });
    });
  });
});
