import { readFile } from 'node:fs/promises';
import type { RunningServer } from '../../app/index.js';
import { ExitCode } from '../../cli/exit-codes.js';
import type { DemoDevice } from '../fleet/demo-device.js';
import { flipOneByte, MODEL_FILE } from '../fleet/model-folder.js';
import { formatSeconds } from '../view/terminal.js';
import { sleep, waitFor } from '../wait.js';
import { logHint } from './enroll.js';
import type { Scene } from './scene.js';

/** Where in detector.onnx the demo flips a byte: inside the "weights". */
const TAMPER_OFFSET = 4096;

export interface TamperOutcome {
  /** From the byte written to the revocation's commit in the store, ms. */
  readonly toRevokedMs: number;
  /** From the byte written to the broker no longer having the device's session, ms. */
  readonly toDisconnectMs: number;
}

/**
 * One byte of `victim`'s model changes. Its agent notices, extends the new
 * measurement into the model PCR and asks for a challenge; the verifier
 * finds a digest the allowlist does not allow, the device is revoked and
 * its session closed. Timed in the server: the broker's session (polled
 * every 2 ms) and the revocation's commit time.
 */
export async function tamperWithModel(scene: Scene, server: RunningServer, victim: DemoDevice): Promise<TamperOutcome> {
  const { term, signal } = scene;
  const p = term.paint;
  const { store, broker } = server.context;
  const tamperedAt = Date.now();
  const flip = await flipOneByte(victim.modelFile, TAMPER_OFFSET);
  const hex = (b: number): string => `0x${b.toString(16).padStart(2, '0')}`;
  term.line(`${p.bad('!')} one byte of ${p.bold(victim.name)}'s ${MODEL_FILE} changed (offset ${TAMPER_OFFSET}: ${hex(flip.before)} → ${hex(flip.after)})`);

  const disconnectedAt = await waitFor(() => (broker.isConnected({ kind: 'device', deviceId: victim.name }) ? undefined : Date.now()), {
    signal,
    timeoutMs: 60_000,
    everyMs: 2,
    what: `${victim.name} to be disconnected after the tampering`,
    hint: () => logHint([victim]),
  });
  const verdict = await waitFor(async () => (await store.listAttestations(victim.name, 5)).find((a) => a.receivedAt >= tamperedAt && a.status === 'contraindicated'), {
    signal,
    timeoutMs: 30_000,
    what: `a contraindicated verdict for ${victim.name}`,
  });
  const revocation = await waitFor(async () => (await store.listRevocations(victim.name))[0], { signal, timeoutMs: 30_000, what: `${victim.name}'s revocation` });

  const reason = verdict.reasons[0];
  term.line(`${p.bad('✗')} ${p.bold(victim.name)} ${p.bad('contraindicated')}: ${reason ? `${reason.submodule}/${reason.code}: ${reason.message}` : 'no reason given'}`);
  term.line(`${p.bad('✗')} ${p.bold(victim.name)} ${p.bad('revoked')} (${revocation.reason}): certificate on the CRL, session closed, signed event on vigil/v1/fleet/revocations`);
  const exit = await Promise.race([victim.agent!.exited, sleep(30_000, signal).then(() => 'running' as const)]);
  const hookRan = (await readFile(victim.layout.hookLog, 'utf8').catch(() => '')).trim() !== '';
  const agentEnd = exit === 'running' ? 'is still running' : `exited ${exit}${exit === ExitCode.Revoked ? ' (revoked)' : ''}`;
  term.line(`${p.bad('✗')} ${p.bold(victim.name)}'s agent ${agentEnd}${hookRan ? '; its revoked hook ran: "stopping the model server"' : ''}`);

  const outcome = { toRevokedMs: revocation.revokedAt - tamperedAt, toDisconnectMs: disconnectedAt - tamperedAt };
  term.line(`  ${p.bold('tamper → revoked')} ${formatSeconds(outcome.toRevokedMs)}   ${p.bold('tamper → disconnected')} ${formatSeconds(outcome.toDisconnectMs)}`);
  return outcome;
}
