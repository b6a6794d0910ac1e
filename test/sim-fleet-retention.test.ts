/**
 * The load generator's fleet (`bench/src/fleet/fleet.ts`) must not keep the
 * simulated devices' identities alive in the process that started it. The
 * benchmarks run the server in that process and report its RSS and its
 * garbage collections as the server's: every identity held there (private
 * keys, certificate, a simulated TPM with 72 PCR buffers, ~15 KiB each) was
 * counted as server memory, ~20 KiB a device at 2,000 devices, and marked by
 * every full collection. Checked with V8's own collector: weak references
 * to the identities handed to `Fleet.start` must clear once the caller drops
 * them, while the worker processes still run.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, expect, it } from 'vitest';
import { Fleet, SoftwareTpm, type SimIdentity } from '../bench/src/fleet/index.js';
import { makeDeviceCredentials, makeFleetCa } from './harness/pki.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

let fleet: Fleet | undefined;

afterAll(async () => {
  await fleet?.stop();
});

async function identities(count: number): Promise<SimIdentity[]> {
  const ca = await makeFleetCa();
  return Array.from({ length: count }, (_, i) => {
    const credentials = makeDeviceCredentials(ca, `retained-${i}`);
    return { deviceId: `retained-${i}`, certPem: credentials.certPem, keyPem: credentials.keyPem, serial: credentials.serial, tpm: new SoftwareTpm() };
  });
}

/** Starts the fleet from a scope of its own, so that only the fleet can still hold the identities. */
async function startFleet(): Promise<{ fleet: Fleet; refs: Array<WeakRef<SimIdentity>> }> {
  const devices = await identities(3);
  const refs = devices.map((d) => new WeakRef(d));
  // Nothing connects before `connect`: the port and CA are never used.
  const started = await Fleet.start({ port: 1, caPem: 'unused', devices, processes: 2 });
  return { fleet: started, refs };
}

it('a running fleet holds none of the identities it was started with', async () => {
  const { fleet: started, refs } = await startFleet();
  fleet = started;
  expect(refs.length).toBe(3);
  // Weak references are cleared only after the job that made them ends (WeakRef semantics).
  for (let i = 0; i < 5 && refs.some((r) => r.deref() !== undefined); i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    gc();
  }
  expect(refs.filter((r) => r.deref() !== undefined).length).toBe(0);
  // The workers are still there, with their devices.
  expect(fleet.size).toBe(3);
  expect((await fleet.snapshot()).devices).toBe(3);
});
