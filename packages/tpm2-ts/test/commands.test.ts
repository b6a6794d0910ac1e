// Every command definition round-trips against a real swtpm.
import { createHash, randomBytes, verify as cryptoVerify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SwtpmInstance } from '../../../test/harness/swtpm.js';
import { useSwtpm } from '../../../test/harness/swtpm-suite.js';
import { unmarshal } from '../src/codec/codec.js';
import { Certify, Quote } from '../src/commands/attestation.js';
import { GetCapability } from '../src/commands/capability.js';
import { ReadClock } from '../src/commands/clock.js';
import { ContextLoad, ContextSave, EvictControl, FlushContext } from '../src/commands/context.js';
import { Hash } from '../src/commands/hash.js';
import { PCR_Event, PCR_Extend, PCR_Read, PCR_Reset } from '../src/commands/integrity.js';
import { NV_DefineSpace, NV_ReadPublic, NV_UndefineSpace } from '../src/commands/nv.js';
import { ReadPublic } from '../src/commands/object.js';
import { GetRandom } from '../src/commands/random.js';
import { Shutdown, Startup } from '../src/commands/startup.js';
import { GetTestResult, SelfTest } from '../src/commands/testing.js';
import { TPM_ALG } from '../src/constants/alg.js';
import { HR, TPM_RH } from '../src/constants/handles.js';
import { TPM_RC } from '../src/constants/rc.js';
import { TPM_CAP, TPM_GENERATED_VALUE, TPM_PT, TPM_ST, TPM_SU } from '../src/constants/st.js';
import { objectName, nvIndexName } from '../src/crypto/name.js';
import { publicKeyFromTpmt } from '../src/crypto/public-key.js';
import { TpmResponseError } from '../src/errors.js';
import { createAk, loadAk } from '../src/keys/ak.js';
import { createEk } from '../src/keys/ek.js';
import { flushKey, keyHandle, type LoadedKey } from '../src/keys/loaded-key.js';
import { getHandles, getPcrBanks, getProperties, getTpmIdentity } from '../src/operations/capabilities.js';
import { nvBufferMax, readNv, writeNv } from '../src/operations/nv.js';
import { readPcrs } from '../src/pcrs/read.js';
import { valuesInSelectionOrder, toTpmlPcrSelection } from '../src/pcrs/selection.js';
import { TPMS_ATTEST } from '../src/structures/attest.js';
import type { Tpm } from '../src/tpm.js';

const sha256 = (...parts: Uint8Array[]): Uint8Array => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('TPM commands against swtpm', () => {
  let sim: SwtpmInstance;
  let tpm: Tpm;
  useSwtpm((suite) => ({ sim, tpm } = suite));

  it('Startup after start-up reports TPM_RC_INITIALIZE; SelfTest and GetTestResult succeed', async () => {
    const err = await tpm.execute(Startup, { startupType: TPM_SU.CLEAR }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TpmResponseError);
    expect((err as TpmResponseError).is(TPM_RC.INITIALIZE)).toBe(true);
    expect((err as TpmResponseError).message).toMatch(/TPM2_Startup failed: TPM_RC_INITIALIZE/);
    await tpm.execute(SelfTest, { fullTest: true });
    const r = await tpm.execute(GetTestResult, {});
    expect(r.testResult).toBe(0);
  });

  it('GetCapability follows moreData; identity and banks come back decoded', async () => {
    const props = await getProperties(tpm);
    expect(props.get(TPM_PT.PCR_COUNT)).toBe(24);
    // A tiny propertyCount forces the moreData loop: ask for one property at a time and compare.
    const one = await tpm.execute(GetCapability, { capability: TPM_CAP.TPM_PROPERTIES, property: TPM_PT.FAMILY_INDICATOR, propertyCount: 1 });
    expect(one.moreData).toBe(true);
    const id = await getTpmIdentity(tpm);
    expect(id.manufacturer).toBe('IBM');
    expect(id.family).toBe('2.0');
    expect(id.firmwareVersion[0]).toBe(props.get(TPM_PT.FIRMWARE_VERSION_1));
    const banks = await getPcrBanks(tpm);
    expect(banks.map((b) => b.name).sort()).toEqual([...sim.pcrBanks].sort());
    for (const b of banks) expect(b.pcrs).toHaveLength(24);
    const persistent = await getHandles(tpm, HR.PERSISTENT);
    // swtpm_setup persists its EKs at 0x81010001 (RSA) and 0x81010016 (ECC P-384).
    expect(persistent).toEqual(expect.arrayContaining([0x81010001, 0x81010016]));
  });

  it('GetRandom returns the bytes asked for, different each time', async () => {
    const a = (await tpm.execute(GetRandom, { bytesRequested: 32 })).randomBytes;
    const b = (await tpm.execute(GetRandom, { bytesRequested: 32 })).randomBytes;
    expect(a).toHaveLength(32);
    expect(hex(a)).not.toBe(hex(b));
  });

  it('Hash matches node:crypto; ReadClock gives a clock', async () => {
    const data = new Uint8Array(randomBytes(100));
    const r = await tpm.execute(Hash, { data, hashAlg: TPM_ALG.SHA256, hierarchy: TPM_RH.OWNER });
    expect(hex(r.outHash)).toBe(hex(sha256(data)));
    expect(r.validation.tag).toBe(TPM_ST.HASHCHECK);
    const c = await tpm.execute(ReadClock, {});
    expect(c.currentTime.clockInfo.clock).toBeGreaterThan(0n);
  });

  it('PCR_Extend/PCR_Event/PCR_Reset change PCRs exactly as the extend rule says; readPcrs reads more than 8 at once', async () => {
    // PCR 10 counts in pcrUpdateCounter (the resettable PCRs 16..23 do not on a PC Client TPM).
    const before = await readPcrs(tpm, [{ hashAlg: TPM_ALG.SHA256, pcrs: [10] }]);
    const old = before.values.get(TPM_ALG.SHA256)!.get(10)!;
    const digest = sha256(Buffer.from('vigil'));
    await tpm.execute(PCR_Extend, { pcrHandle: 10, digests: [{ hashAlg: TPM_ALG.SHA256, digest }] });
    const after = await readPcrs(tpm, [{ hashAlg: TPM_ALG.SHA256, pcrs: [10] }]);
    expect(hex(after.values.get(TPM_ALG.SHA256)!.get(10)!)).toBe(hex(sha256(old, digest)));
    expect(after.updateCounter).toBeGreaterThan(before.updateCounter);

    const event = await tpm.execute(PCR_Event, { pcrHandle: 23, eventData: Buffer.from('event') });
    // The TPM hashes the event with every implemented hash (not only the allocated banks).
    const eventSha256 = event.digests.find((d) => d.hashAlg === TPM_ALG.SHA256);
    expect(hex(eventSha256!.digest as Uint8Array)).toBe(hex(sha256(Buffer.from('event'))));

    await tpm.execute(PCR_Reset, { pcrHandle: 23 });
    const reset = await readPcrs(tpm, [{ hashAlg: TPM_ALG.SHA256, pcrs: [23] }]);
    expect(hex(reset.values.get(TPM_ALG.SHA256)!.get(23)!)).toBe('00'.repeat(32));

    // All 24 PCRs of both banks: 48 values, at most 8 per PCR_Read.
    const all = Array.from({ length: 24 }, (_, i) => i);
    const sel = [
      { hashAlg: TPM_ALG.SHA1, pcrs: all },
      { hashAlg: TPM_ALG.SHA256, pcrs: all },
    ];
    const r = await readPcrs(tpm, sel);
    expect(r.values.get(TPM_ALG.SHA1)!.size).toBe(24);
    expect(r.values.get(TPM_ALG.SHA256)!.size).toBe(24);
    // Cross-check a chunk against one raw PCR_Read.
    const raw = await tpm.execute(PCR_Read, { pcrSelectionIn: toTpmlPcrSelection([{ hashAlg: TPM_ALG.SHA256, pcrs: [0, 1, 2, 3] }]) });
    expect(raw.pcrValues.map(hex)).toEqual([0, 1, 2, 3].map((i) => hex(r.values.get(TPM_ALG.SHA256)!.get(i)!)));
    // PCR 17..22 are not resettable at locality 0 and start at all ones on a PC Client TPM.
    expect(hex(r.values.get(TPM_ALG.SHA256)!.get(17)!)).toBe('ff'.repeat(32));
  });

  it('CreatePrimary/ReadPublic/ContextSave/ContextLoad/EvictControl/FlushContext manage an EK', async () => {
    const ek = await createEk(tpm, 'rsa');
    const rp = await tpm.execute(ReadPublic, { objectHandle: ek.handle });
    expect(hex(rp.name)).toBe(hex(ek.name));
    expect(hex(objectName(rp.outPublic))).toBe(hex(ek.name));

    const saved = await tpm.execute(ContextSave, { saveHandle: ek.handle });
    expect(saved.context.savedHandle >>> 24).toBe(0x80);
    await tpm.execute(FlushContext, { flushHandle: ek.handle });
    const gone = await tpm.execute(ReadPublic, { objectHandle: ek.handle }).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(TpmResponseError);
    const loaded = await tpm.execute(ContextLoad, { context: saved.context });
    expect(hex((await tpm.execute(ReadPublic, { objectHandle: loaded.loadedHandle })).name)).toBe(hex(ek.name));

    const persistent = 0x81000123;
    await tpm.execute(EvictControl, { auth: TPM_RH.OWNER, objectHandle: loaded.loadedHandle, persistentHandle: persistent });
    expect(await getHandles(tpm, HR.PERSISTENT)).toContain(persistent);
    expect(hex((await tpm.execute(ReadPublic, { objectHandle: persistent })).name)).toBe(hex(ek.name));
    await tpm.execute(EvictControl, { auth: TPM_RH.OWNER, objectHandle: persistent, persistentHandle: persistent });
    expect(await getHandles(tpm, HR.PERSISTENT)).not.toContain(persistent);
    await tpm.execute(FlushContext, { flushHandle: loaded.loadedHandle });
  });

  describe('with an AK under the EK', () => {
    let ek: LoadedKey;
    let ak: LoadedKey;
    beforeAll(async () => {
      ek = await createEk(tpm, 'rsa');
      const blobs = await createAk(tpm, ek, 'rsa');
      ak = await loadAk(tpm, ek, blobs);
      expect(hex(ak.name)).toBe(hex(blobs.name));
    });
    afterAll(async () => {
      await flushKey(tpm, ak);
      await flushKey(tpm, ek);
    });

    it('Quote signs a TPMS_ATTEST over the selected PCRs with the nonce as extraData', async () => {
      const nonce = new Uint8Array(randomBytes(20));
      const selection = [{ hashAlg: TPM_ALG.SHA256, pcrs: [0, 1, 2, 7] }];
      const q = await tpm.execute(Quote, {
        signHandle: keyHandle(ak),
        qualifyingData: nonce,
        inScheme: { scheme: TPM_ALG.NULL, details: null },
        PCRselect: toTpmlPcrSelection(selection),
      });
      const attest = unmarshal(TPMS_ATTEST, q.quoted);
      expect(attest.magic).toBe(TPM_GENERATED_VALUE);
      expect(attest.type).toBe(TPM_ST.ATTEST_QUOTE);
      expect(hex(attest.extraData)).toBe(hex(nonce));
      const pcrs = await readPcrs(tpm, selection);
      const quoteInfo = attest.attested as { pcrDigest: Uint8Array };
      expect(hex(quoteInfo.pcrDigest)).toBe(hex(sha256(...valuesInSelectionOrder(selection, pcrs.values))));
      expect(q.signature.sigAlg).toBe(TPM_ALG.RSASSA);
      const sig = q.signature.signature as { hash: number; sig: Uint8Array };
      expect(cryptoVerify('sha256', q.quoted, publicKeyFromTpmt(ak.public), sig.sig)).toBe(true);
      expect(cryptoVerify('sha256', Buffer.concat([q.quoted, Buffer.of(0)]), publicKeyFromTpmt(ak.public), sig.sig)).toBe(false);
    });

    it('Certify attests that a key is loaded in the same TPM', async () => {
      const nonce = new Uint8Array(randomBytes(16));
      const other = await loadAk(tpm, ek, await createAk(tpm, ek, 'ecc'));
      // objectHandle needs its ADMIN role: an empty password for a key without adminWithPolicy.
      const c = await tpm.execute(Certify, {
        objectHandle: keyHandle(other),
        signHandle: keyHandle(ak),
        qualifyingData: nonce,
        inScheme: { scheme: TPM_ALG.NULL, details: null },
      });
      const attest = unmarshal(TPMS_ATTEST, c.certifyInfo);
      expect(attest.type).toBe(TPM_ST.ATTEST_CERTIFY);
      expect(hex(attest.extraData)).toBe(hex(nonce));
      expect(hex((attest.attested as { name: Uint8Array }).name)).toBe(hex(other.name));
      const sig = c.signature.signature as { sig: Uint8Array };
      expect(cryptoVerify('sha256', c.certifyInfo, publicKeyFromTpmt(ak.public), sig.sig)).toBe(true);
      await flushKey(tpm, other);
    });

  });

  it('an ECC AK under the ECC EK signs quotes with ECDSA P-256', async () => {
    const eccEk = await createEk(tpm, 'ecc');
    const eccAk = await loadAk(tpm, eccEk, await createAk(tpm, eccEk, 'ecc'));
    const q = await tpm.execute(Quote, {
      signHandle: keyHandle(eccAk),
      qualifyingData: new Uint8Array(8),
      inScheme: { scheme: TPM_ALG.NULL, details: null },
      PCRselect: toTpmlPcrSelection([{ hashAlg: TPM_ALG.SHA1, pcrs: [0] }]),
    });
    expect(q.signature.sigAlg).toBe(TPM_ALG.ECDSA);
    const s = q.signature.signature as { signatureR: Uint8Array; signatureS: Uint8Array };
    const rs = Buffer.concat([Buffer.alloc(32 - s.signatureR.length), s.signatureR, Buffer.alloc(32 - s.signatureS.length), s.signatureS]);
    expect(cryptoVerify('sha256', q.quoted, { key: publicKeyFromTpmt(eccAk.public), dsaEncoding: 'ieee-p1363' }, rs)).toBe(true);
    await flushKey(tpm, eccAk);
    await flushKey(tpm, eccEk);
  });

  it('NV_DefineSpace/NV_Write/NV_Read/NV_ReadPublic/NV_UndefineSpace, chunked beyond TPM_PT_NV_BUFFER_MAX', async () => {
    const index = 0x01500123;
    const max = await nvBufferMax(tpm);
    // MAX_NV_INDEX_SIZE is 2048 on swtpm; two chunks are enough to exercise the loop.
    const data = new Uint8Array(randomBytes(max + 100));
    await tpm.execute(NV_DefineSpace, {
      authHandle: TPM_RH.OWNER,
      auth: new Uint8Array(0),
      publicInfo: {
        nvIndex: index,
        nameAlg: TPM_ALG.SHA256,
        attributes: { ownerWrite: true, ownerRead: true, authWrite: true, authRead: true, noDA: true },
        authPolicy: new Uint8Array(0),
        dataSize: data.length,
      },
    });
    await writeNv(tpm, index, data);
    const pub = await tpm.execute(NV_ReadPublic, { nvIndex: index });
    expect(pub.nvPublic.dataSize).toBe(data.length);
    expect(pub.nvPublic.attributes.written).toBe(true);
    expect(hex(pub.nvName)).toBe(hex(nvIndexName(pub.nvPublic)));
    expect(hex(await readNv(tpm, index))).toBe(hex(data));
    expect(hex(await readNv(tpm, index, { authHandle: TPM_RH.OWNER }, { offset: max - 3, size: 10 }))).toBe(hex(data.subarray(max - 3, max + 7)));
    await tpm.execute(NV_UndefineSpace, { authHandle: TPM_RH.OWNER, nvIndex: index });
    await expect(tpm.execute(NV_ReadPublic, { nvIndex: index })).rejects.toThrow(/TPM_RC_HANDLE/);
  });

  it('readNv/writeNv pick the owner as authorization for an index without authRead/authWrite', async () => {
    const index = 0x01500124;
    const data = new Uint8Array(randomBytes(16));
    await tpm.execute(NV_DefineSpace, {
      authHandle: TPM_RH.OWNER,
      auth: new Uint8Array(0),
      publicInfo: { nvIndex: index, nameAlg: TPM_ALG.SHA256, attributes: { ownerWrite: true, ownerRead: true, noDA: true }, authPolicy: new Uint8Array(0), dataSize: 16 },
    });
    await writeNv(tpm, index, data);
    expect(hex(await readNv(tpm, index))).toBe(hex(data));
    // With the index as authorization handle the TPM refuses: proof that the default chose the owner.
    await expect(readNv(tpm, index, { authHandle: index })).rejects.toThrow(/TPM_RC_AUTH_UNAVAILABLE/);
    await tpm.execute(NV_UndefineSpace, { authHandle: TPM_RH.OWNER, nvIndex: index });
  });

  it('a TPM error names the command, the code and the handle', async () => {
    const e = (await tpm.execute(ReadPublic, { objectHandle: 0x80ffffff }).catch((x: unknown) => x)) as TpmResponseError;
    expect(e).toBeInstanceOf(TpmResponseError);
    expect(e.command).toBe('TPM2_ReadPublic');
    expect(e.decoded.handle).toBe(1);
    expect(e.message).toMatch(/handle 1/);
  });

  it('Shutdown(CLEAR) is accepted, and after a power cycle the TPM is back with a clock marked safe', async () => {
    await tpm.execute(Shutdown, { shutdownType: TPM_SU.CLEAR });
    // The Shutdown above is the orderly one: the harness only does TPM_Init and Startup(CLEAR).
    await sim.powerCycle(tpm, { orderly: false });
    expect((await tpm.execute(ReadClock, {})).currentTime.clockInfo.safe).toBe(true);
    expect((await tpm.execute(GetRandom, { bytesRequested: 4 })).randomBytes).toHaveLength(4);
  });
});
