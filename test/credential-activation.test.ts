// Credential activation against real TPMs (swtpm), for RSA and ECC EKs:
//  - our makeCredential is activated by tpm2_activatecredential (EK and AK
//    made by tpm2_createek/tpm2_createak), and by our own client
//    (createEk/createAk/activateCredential);
//  - tpm2_makecredential's software output (-T none) has the structure ours
//    has, and activates on both too;
//  - a credential made for another Name is refused by the TPM.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  activateCredential,
  createAk,
  createEk,
  decodePublicBlob,
  decodeTpm2ToolsCredential,
  encodePublicBlob,
  encodeTpm2ToolsCredential,
  type EkKind,
  flushKey,
  loadAk,
  makeCredential,
  objectName,
  TPM_ALG,
  TPM_RC,
  TPMS_ECC_POINT,
  type Tpm,
  TpmResponseError,
  type TpmtPublic,
  unmarshal,
} from '@vigil/tpm2-ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSwtpm, type SwtpmInstance } from './harness/swtpm.js';
import { type Tpm2Tools, tpm2Tools } from './tpm2-tools.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('tpm2-tools activates our credentials', () => {
  let sim: SwtpmInstance;
  let root: string;
  beforeAll(async () => {
    sim = await startSwtpm({ transport: 'tcp' });
    root = await mkdtemp(join(tmpdir(), 'vigil-credential-tools-'));
  });
  afterAll(async () => {
    await sim?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** tpm2_activatecredential with the EK policy PolicySecret(TPM_RH_ENDORSEMENT) in a policy session. */
  async function activate(t: Tpm2Tools, credentialFile: string, out: string): Promise<Uint8Array> {
    await t('tpm2_startauthsession', ['--policy-session', '-S', 'session.ctx']);
    try {
      await t('tpm2_policysecret', ['-S', 'session.ctx', '-c', 'e']);
      await t('tpm2_activatecredential', ['-c', 'ak.ctx', '-C', 'ek.ctx', '-i', credentialFile, '-o', out, '-P', 'session:session.ctx']);
    } finally {
      // A failed activation leaves the session loaded; it must not use up swtpm's session slots.
      await t('tpm2_flushcontext', ['session.ctx']).catch(() => undefined);
    }
    return new Uint8Array(await readFile(join(t.cwd, out)));
  }

  for (const alg of ['rsa', 'ecc'] as const) {
    describe(`${alg.toUpperCase()} EK`, () => {
      let t: Tpm2Tools;
      let ekPublic: TpmtPublic;
      let akName: Uint8Array;
      beforeAll(async () => {
        const dir = join(root, alg);
        await mkdir(dir);
        t = tpm2Tools(sim.tcti!, dir);
        await t('tpm2_createek', ['-c', 'ek.ctx', '-G', alg, '-u', 'ek.pub']);
        await t('tpm2_createak', ['-C', 'ek.ctx', '-c', 'ak.ctx', '-G', alg, '-g', 'sha256', '-s', alg === 'rsa' ? 'rsassa' : 'ecdsa', '-u', 'ak.pub', '-n', 'ak.name']);
        ekPublic = decodePublicBlob(new Uint8Array(await readFile(join(dir, 'ek.pub'))));
        akName = new Uint8Array(await readFile(join(dir, 'ak.name')));
      });

      it("our objectName of tpm2_createak's public area equals the Name the TPM reported", async () => {
        const akPublic = decodePublicBlob(new Uint8Array(await readFile(join(t.cwd, 'ak.pub'))));
        expect(hex(objectName(akPublic))).toBe(hex(akName));
      });

      it('tpm2_activatecredential recovers the secret from our makeCredential', async () => {
        const secret = new Uint8Array(randomBytes(32));
        await writeFile(join(t.cwd, 'ours.cred'), encodeTpm2ToolsCredential(makeCredential({ ekPublic, name: akName, secret })));
        expect(hex(await activate(t, 'ours.cred', 'ours.out'))).toBe(hex(secret));
      });

      it('the TPM refuses our credential made for another Name', async () => {
        const other = Uint8Array.from([0x00, 0x0b, ...randomBytes(32)]);
        await writeFile(join(t.cwd, 'other.cred'), encodeTpm2ToolsCredential(makeCredential({ ekPublic, name: other, secret: new Uint8Array(16) })));
        await expect(activate(t, 'other.cred', 'other.out')).rejects.toThrow(/integrity/i);
      });

      it('tpm2_makecredential -T none makes the same structure, and it activates too', async () => {
        const secret = new Uint8Array(randomBytes(20));
        await writeFile(join(t.cwd, 'secret.bin'), secret);
        await t('tpm2_makecredential', ['-T', 'none', '-e', 'ek.pub', '-s', 'secret.bin', '-n', hex(akName), '-o', 'theirs.cred']);
        const theirs = decodeTpm2ToolsCredential(new Uint8Array(await readFile(join(t.cwd, 'theirs.cred'))));
        const ours = makeCredential({ ekPublic, name: akName, secret });
        // Randomised, so compare shapes: TPM2B_DIGEST(HMAC) || encIdentity of the same length; the same kind of encrypted seed.
        expect(theirs.credentialBlob.length).toBe(ours.credentialBlob.length);
        expect(theirs.credentialBlob.subarray(0, 2)).toEqual(ours.credentialBlob.subarray(0, 2));
        if (alg === 'rsa') expect(theirs.encryptedSecret.length).toBe(ours.encryptedSecret.length);
        else {
          const a = unmarshal(TPMS_ECC_POINT, theirs.encryptedSecret);
          const b = unmarshal(TPMS_ECC_POINT, ours.encryptedSecret);
          expect([a.x.length, a.y.length]).toEqual([b.x.length, b.y.length]);
        }
        expect(hex(await activate(t, 'theirs.cred', 'theirs.out'))).toBe(hex(secret));
      });
    });
  }
});

describe('our client activates credentials', () => {
  let sim: SwtpmInstance;
  let tpm: Tpm;
  let root: string;
  beforeAll(async () => {
    sim = await startSwtpm();
    tpm = sim.connect();
    root = await mkdtemp(join(tmpdir(), 'vigil-credential-client-'));
  });
  afterAll(async () => {
    await tpm?.close();
    await sim?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  const kinds: [EkKind, string][] = [
    ['rsa', 'RSA 2048 EK (template L-1)'],
    ['ecc', 'ECC P-256 EK (template L-2)'],
    ['ecc-p384', 'ECC P-384 EK (template H-3: SHA-384, AES-256)'],
  ];
  for (const [kind, label] of kinds) {
    it(`${label}: ActivateCredential returns our secret; refuses it for another key; takes tpm2_makecredential's too`, async () => {
      const ek = await createEk(tpm, kind);
      try {
        const blobs = await createAk(tpm, ek, kind === 'rsa' ? 'rsa' : 'ecc');
        const ak = await loadAk(tpm, ek, blobs);
        try {
          expect(hex(ak.name)).toBe(hex(objectName(blobs.public)));
          const digest = ek.public.nameAlg === TPM_ALG.SHA384 ? 48 : 32;
          const secret = new Uint8Array(randomBytes(digest));
          const c = makeCredential({ ekPublic: ek.public, name: ak.name, secret });
          const got = await activateCredential(tpm, ak, ek, { credentialBlob: c.credentialBlob, secret: c.encryptedSecret });
          expect(hex(got)).toBe(hex(secret));

          // Made for another Name: the TPM's integrity check fails (Part 3 §12.5: TPM_RC_INTEGRITY).
          const wrong = makeCredential({ ekPublic: ek.public, name: Uint8Array.from([0x00, 0x0b, ...randomBytes(32)]), secret });
          const err = await activateCredential(tpm, ak, ek, { credentialBlob: wrong.credentialBlob, secret: wrong.encryptedSecret }).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(TpmResponseError);
          expect((err as TpmResponseError).is(TPM_RC.INTEGRITY)).toBe(true);

          // tpm2-tools' software MakeCredential for our EK and AK, activated by our client.
          const dir = join(root, kind);
          await mkdir(dir);
          await writeFile(join(dir, 'ek.pub'), encodePublicBlob(ek.public));
          await writeFile(join(dir, 'secret.bin'), secret.subarray(0, 32));
          const tools = tpm2Tools('none', dir);
          await tools('tpm2_makecredential', ['-T', 'none', '-e', 'ek.pub', '-s', 'secret.bin', '-n', hex(ak.name), '-o', 'theirs.cred'], { keepLoaded: true });
          const theirs = decodeTpm2ToolsCredential(new Uint8Array(await readFile(join(dir, 'theirs.cred'))));
          const fromTools = await activateCredential(tpm, ak, ek, { credentialBlob: theirs.credentialBlob, secret: theirs.encryptedSecret });
          expect(hex(fromTools)).toBe(hex(secret.subarray(0, 32)));
        } finally {
          await flushKey(tpm, ak);
        }
      } finally {
        await flushKey(tpm, ek);
      }
    });
  }
});
