// Power cycling through swtpm's control channel, and restarts of the process.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SwtpmInstance } from '../../../test/harness/swtpm.js';
import { useSwtpm } from '../../../test/harness/swtpm-suite.js';
import { ReadClock } from '../src/commands/clock.js';
import { PCR_Extend } from '../src/commands/integrity.js';
import { NV_DefineSpace, NV_ReadPublic } from '../src/commands/nv.js';
import { GetRandom } from '../src/commands/random.js';
import { Startup } from '../src/commands/startup.js';
import { TPM_ALG } from '../src/constants/alg.js';
import { TPM_RH } from '../src/constants/handles.js';
import { TPM_RC } from '../src/constants/rc.js';
import { TPM_SU } from '../src/constants/st.js';
import { TpmResponseError } from '../src/errors.js';
import { readPcrs } from '../src/pcrs/read.js';
import { SWTPM_INFO } from '../src/transports/swtpm-control.js';
import type { Tpm } from '../src/tpm.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('power cycle and restart', () => {
  let sim: SwtpmInstance;
  let tpm: Tpm;
  useSwtpm((suite) => ({ sim, tpm } = suite));

  const pcr10 = async (): Promise<string> => hex((await readPcrs(tpm, [{ hashAlg: TPM_ALG.SHA256, pcrs: [10] }])).values.get(TPM_ALG.SHA256)!.get(10)!);
  const extend10 = (): Promise<unknown> =>
    tpm.execute(PCR_Extend, { pcrHandle: 10, digests: [{ hashAlg: TPM_ALG.SHA256, digest: createHash('sha256').update('x').digest() }] });

  it('TPM_Init over the control channel resets PCRs and increments resetCount', async () => {
    await extend10();
    expect(await pcr10()).not.toBe('00'.repeat(32));
    const before = (await tpm.execute(ReadClock, {})).currentTime.clockInfo;
    await sim.powerCycle(tpm);
    expect(await pcr10()).toBe('00'.repeat(32));
    const after = (await tpm.execute(ReadClock, {})).currentTime.clockInfo;
    expect(after.resetCount).toBe(before.resetCount + 1);
    // An orderly shutdown came first, so the clock is marked safe.
    expect(after.safe).toBe(true);
  });

  it('without Startup after TPM_Init the TPM answers TPM_RC_INITIALIZE', async () => {
    await sim.powerCycle();
    const e = await tpm.execute(GetRandom, { bytesRequested: 4 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(TpmResponseError);
    expect((e as TpmResponseError).is(TPM_RC.INITIALIZE)).toBe(true);
    await tpm.execute(Startup, { startupType: TPM_SU.CLEAR });
    expect((await tpm.execute(GetRandom, { bytesRequested: 4 })).randomBytes).toHaveLength(4);
  });

  it('restart() kills swtpm and brings it back: NV persists, PCRs and the connection do not', async () => {
    await tpm.execute(NV_DefineSpace, {
      authHandle: TPM_RH.OWNER,
      auth: new Uint8Array(0),
      publicInfo: { nvIndex: 0x01500300, nameAlg: TPM_ALG.SHA256, attributes: { ownerWrite: true, ownerRead: true }, authPolicy: new Uint8Array(0), dataSize: 8 },
    });
    await extend10();
    const resetCount = (await tpm.execute(ReadClock, {})).currentTime.clockInfo.resetCount;
    await sim.restart();
    // The transport reconnects on the next command.
    expect(await pcr10()).toBe('00'.repeat(32));
    expect((await tpm.execute(NV_ReadPublic, { nvIndex: 0x01500300 })).nvPublic.dataSize).toBe(8);
    expect((await tpm.execute(ReadClock, {})).currentTime.clockInfo.resetCount).toBeGreaterThan(resetCount);
  });

  it('reports libtpms information over the control channel', async () => {
    const c = sim.control();
    const info = JSON.parse(await c.info(SWTPM_INFO.TPM_SPECIFICATION)) as { TPMSpecification: { family: string } };
    expect(info.TPMSpecification.family).toBe('2.0');
    await c.close();
  });
});
