/**
 * What the verifier keeps per device (`DeviceStates`): the enrollment record
 * is read whole once per AK, everything that can change comes from the
 * store's standing on every use, and the log state is reloaded exactly when
 * the store's position differs from the one held (another replica moved it).
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../test/harness/pki.js';
import { generateEnrollmentToken, hashEnrollmentToken, openSqliteStore, type Store } from '../src/store/index.js';
import { DeviceStates, emptyLogState } from '../src/verifier/state/device-state.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let store: Store;
const reads = { getDevice: 0, getDeviceLogState: 0 };
let counted: Store;

/** What the verifier keeps of a device: everything but the EK material. */
async function attesting(id: string): Promise<unknown> {
  const { ekPublic: _p, ekCertificate: _c, ...rest } = (await store.getDevice(id))!;
  return rest;
}

async function enroll(id: string, akName: string, reenroll = false): Promise<void> {
  const token = generateEnrollmentToken();
  await store.createToken({ hash: hashEnrollmentToken(token), maxUses: 1, expiresAt: Date.now() + 60_000, actor: 'test' });
  const r = await store.enrollDevice({
    tokenHash: hashEnrollmentToken(token),
    device: { id, ekPublic: new Uint8Array(4), ekName: '000b' + 'aa'.repeat(32), akPublic: new Uint8Array([1, 2, 3]), akName, facts: { hostname: 'h', os: 'o', arch: 'a', agentVersion: '0', tpm: { manufacturer: 'm', firmwareVersion: '0' } } },
    certificate: { serial: reenroll ? '02' : '01', notBefore: Date.now(), notAfter: Date.now() + 60_000, pem: 'x' },
    actor: 'test',
  });
  expect(r.ok).toBe(true);
}

beforeEach(async () => {
  tmp = await makeTempDir('vigil-device-state-');
  store = await openSqliteStore(join(tmp.path, 'vigil.db'));
  reads.getDevice = 0;
  reads.getDeviceLogState = 0;
  counted = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'getDevice' || prop === 'getDeviceLogState') {
        return (id: string) => {
          reads[prop]++;
          return target[prop](id);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  await enroll('cam-1', '000b' + '11'.repeat(32));
});
afterEach(async () => {
  await store.close();
  await tmp.cleanup();
});

describe('DeviceStates.device', () => {
  it('reads the whole device once per AK and takes what can change from each standing', async () => {
    const states = new DeviceStates(counted);
    const state = states.get('cam-1');
    const first = await states.device(state, (await store.getDeviceStanding('cam-1'))!);
    expect(first).toEqual(await attesting('cam-1'));
    expect(first).not.toHaveProperty('ekCertificate');
    expect(reads.getDevice).toBe(1);
    await store.setDeviceGroup('cam-1', 'cameras', 'test');
    await store.revokeDevice({ deviceId: 'cam-1', reason: 'admin', actor: 'test' });
    const second = await states.device(state, (await store.getDeviceStanding('cam-1'))!);
    expect(reads.getDevice).toBe(1);
    expect(second).toEqual(await attesting('cam-1'));
    expect(second).toMatchObject({ group: 'cameras', revoked: true });
  });

  it('reads it again when the AK changed (re-enrolled, perhaps by another replica)', async () => {
    const states = new DeviceStates(counted);
    const state = states.get('cam-1');
    await states.device(state, (await store.getDeviceStanding('cam-1'))!);
    await store.allowReenrollment('cam-1', 'test');
    await enroll('cam-1', '000b' + '22'.repeat(32), true);
    const after = await states.device(state, (await store.getDeviceStanding('cam-1'))!);
    expect(reads.getDevice).toBe(2);
    expect(after?.akName).toBe('000b' + '22'.repeat(32));
    expect(after).toEqual(await attesting('cam-1'));
  });
});

describe('DeviceStates.logStateAt', () => {
  const logState = (entries: number) => ({ ...emptyLogState('cam-1'), resetCount: 3, model: { entries, pcrs: { sha256: { '13': 'c'.repeat(64) } }, measurements: [] } });
  const record = (entries: number) =>
    store.recordAttestation({
      attestation: { deviceId: 'cam-1', challengeId: null, receivedAt: Date.now(), evidenceDigest: '0'.repeat(64), status: 'none', verdict: null, error: { code: 'schema', message: 'x' }, policy: null, tpmClock: null },
      logState: logState(entries),
      actor: 'test',
    });

  it('keeps the state it holds while the store stands at the same place, reloads when another process moved it', async () => {
    const states = new DeviceStates(counted);
    const state = states.get('cam-1');
    // Nothing stored yet: the empty state, read once.
    expect(await states.logStateAt(state, (await store.getDeviceStanding('cam-1'))!.log)).toMatchObject({ model: { entries: 0 } });
    expect(await states.logStateAt(state, (await store.getDeviceStanding('cam-1'))!.log)).toMatchObject({ model: { entries: 0 } });
    expect(reads.getDeviceLogState).toBe(1);
    // Another replica records 2 model entries: the position differs, so the state is read again.
    await record(2);
    expect(await states.logStateAt(state, (await store.getDeviceStanding('cam-1'))!.log)).toMatchObject({ resetCount: 3, model: { entries: 2 } });
    expect(reads.getDeviceLogState).toBe(2);
    expect(await states.logStateAt(state, (await store.getDeviceStanding('cam-1'))!.log)).toMatchObject({ model: { entries: 2 } });
    expect(reads.getDeviceLogState).toBe(2);
  });
});
