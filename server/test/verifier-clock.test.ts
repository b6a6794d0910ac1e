/**
 * Step 8, the TPM clock, when a device's answers are not appraised in the
 * order its TPM made them (issues 5 and 10): two verifier replicas sharing
 * one store may commit a later quote before an earlier one. Each quote is
 * judged against the clock the store held when its challenge was issued,
 * so honest answers pass in any order, the stored clock only moves forward,
 * and a rollback below that anchor still fails. On a real store: a SQLite
 * file always, and PostgreSQL (a throwaway cluster) when it is installed.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Evidence } from '@vigil/protocol';
import { postgresAvailable, startPostgres, type PostgresCluster } from '../../test/harness/postgres.js';
import { openPostgresStore } from '../src/store/index.js';
import {
  appraise,
  challenge,
  enrollSimulated,
  evidence,
  findings,
  pipelineFixture,
  SimulatedTpm,
  type Clock,
  type FixtureStore,
  type IssuedChallenge,
  type PipelineFixture,
} from './verifier-support.js';

let cluster: Promise<PostgresCluster | undefined> | undefined;
afterAll(async () => {
  await (await cluster)?.stop();
});

/** A fresh database of the file's PostgreSQL cluster, started on first use. */
async function postgresStore(): Promise<FixtureStore> {
  cluster ??= startPostgres();
  const pg = await cluster;
  if (pg === undefined) throw new Error('PostgreSQL is not installed');
  const name = `clock_${randomBytes(6).toString('hex')}`;
  const store = await openPostgresStore(await pg.createDatabase(name), { poolSize: 4 });
  return {
    store,
    async dispose() {
      await store.close();
      await pg.dropDatabase(name);
    },
  };
}

const STORES: ReadonlyArray<{ readonly name: string; readonly open?: () => Promise<FixtureStore>; readonly skip: boolean }> = [
  { name: 'SQLite', skip: false },
  { name: 'PostgreSQL', open: postgresStore, skip: !postgresAvailable },
];

for (const { name, open, skip } of STORES) {
  describe.skipIf(skip)(`the TPM clock against the clock each challenge was issued against (${name})`, () => {
    let f: PipelineFixture;
    let tpm: SimulatedTpm;
    let deviceId: string;

    beforeEach(async () => {
      f = await pipelineFixture(open);
      tpm = new SimulatedTpm();
      deviceId = await enrollSimulated(f.store, tpm);
    });
    afterEach(async () => {
      await f.close();
    });

    /** What the store holds as the device's clock. */
    const storedClock = async () => (await f.store.getDevice(deviceId))!.tpmClock;

    /** Evidence for `c` whose quote carries exactly `at` (the simulated TPM moves its clock on by 100 ms per quote). */
    function answerAt(c: IssuedChallenge, at: Clock): Evidence {
      const saved = tpm.clock;
      tpm.clock = { ...at, clock: at.clock - 100n };
      const ev = evidence(tpm, c);
      tpm.clock = saved;
      return ev;
    }

    it('two answers to two challenges appraised in reverse order (the later quote committed first): both affirming, the stored clock the later one', async () => {
      expect(findings(await appraise(f, deviceId, evidence(tpm, await challenge(f.store, deviceId)))).codes).toEqual([]);
      // Both challenges are out before either is answered (a scheduled one and one the device asked for).
      const first = await challenge(f.store, deviceId);
      const second = await challenge(f.store, deviceId);
      const earlier = evidence(tpm, first);
      const earlierClock = { ...tpm.clock };
      const later = evidence(tpm, second);
      const laterClock = { ...tpm.clock };
      expect(laterClock.clock).toBeGreaterThan(earlierClock.clock);

      expect(findings(await appraise(f, deviceId, later))).toMatchObject({ codes: [], status: { identity: 'affirming' } });
      expect(await storedClock()).toEqual(laterClock);
      // Behind the stored clock, but not behind the clock its challenge was issued against: no rollback.
      expect(findings(await appraise(f, deviceId, earlier))).toMatchObject({ codes: [], status: { identity: 'affirming' } });
      // ...and its late commit did not move the stored clock back.
      expect(await storedClock()).toEqual(laterClock);
    });

    it('the same across a reboot: each answer of the new boot notes the reboot, in either order, and the stored clock is the later one', async () => {
      expect(findings(await appraise(f, deviceId, evidence(tpm, await challenge(f.store, deviceId)))).codes).toEqual([]);
      const first = await challenge(f.store, deviceId);
      const second = await challenge(f.store, deviceId);
      tpm.reboot();
      const earlier = evidence(tpm, first);
      const later = evidence(tpm, second);
      const laterClock = { ...tpm.clock };
      for (const ev of [later, earlier]) {
        expect(findings(await appraise(f, deviceId, ev))).toMatchObject({ codes: ['identity/tpm-reboot'], status: { identity: 'affirming' } });
      }
      expect(await storedClock()).toEqual(laterClock);
      // The next challenge is issued against the new boot: no reboot to note any more.
      expect(findings(await appraise(f, deviceId, evidence(tpm, await challenge(f.store, deviceId)))).codes).toEqual([]);
    });

    it('a quote below the clock its challenge was issued against is a rollback, while the stored clock is already further on', async () => {
      tpm.clock = { ...tpm.clock, restartCount: 2 };
      expect(findings(await appraise(f, deviceId, evidence(tpm, await challenge(f.store, deviceId)))).codes).toEqual([]);
      const anchor = (await storedClock())!;
      // Four challenges issued against `anchor`, then the device's clock moves on through a fifth.
      const [inBetween, clockBack, restartBack, resetBack] = [
        await challenge(f.store, deviceId),
        await challenge(f.store, deviceId),
        await challenge(f.store, deviceId),
        await challenge(f.store, deviceId),
      ];
      const ahead = { ...anchor, clock: anchor.clock + 10_000n };
      expect(findings(await appraise(f, deviceId, answerAt(await challenge(f.store, deviceId), ahead))).codes).toEqual([]);
      expect(await storedClock()).toEqual(ahead);

      // Between the anchor and the stored clock: honest, merely appraised late.
      expect(findings(await appraise(f, deviceId, answerAt(inBetween, { ...anchor, clock: anchor.clock + 1n }))).codes).toEqual([]);
      // Below the anchor, each way a TPM's state can go back.
      const cases: Array<readonly [IssuedChallenge, Clock, string]> = [
        [clockBack, { ...anchor, clock: anchor.clock - 1n }, 'identity/clock-went-back'],
        [restartBack, { ...anchor, restartCount: anchor.restartCount - 1, clock: anchor.clock + 5_000n }, 'identity/restart-count-decreased'],
        [resetBack, { ...anchor, resetCount: anchor.resetCount - 1, clock: anchor.clock + 5_000n }, 'identity/reset-count-decreased'],
      ];
      for (const [c, at, code] of cases) {
        expect(findings(await appraise(f, deviceId, answerAt(c, at)))).toMatchObject({ codes: [code], status: { identity: 'contraindicated' } });
      }
      // No rolled-back quote moved the stored clock.
      expect(await storedClock()).toEqual(ahead);
    });
  });
}
