import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { findSwtpmTools, SimulatorError, SwtpmManufacturer } from '@vigil/tpm2-ts/simulator';
import { adminPaths } from '../admin/local/paths.js';
import { readRunFile } from '../admin/local/run-file.js';
import type { RunningServer } from '../app/index.js';
import { CliError, ExitCode } from '../cli/exit-codes.js';
import { dataDir, type DataDir } from '../datadir.js';
import { createLogger } from '../log.js';
import { deviceLayout, DemoDevice } from './fleet/demo-device.js';
import { trustManufacturer, MANUFACTURER_BUNDLE } from './fleet/manufacturer-trust.js';
import { flipOneByte, MODEL_FILE, MODEL_FILES } from './fleet/model-folder.js';
import { checkBuilt } from './locations.js';
import { serverCli } from './server-cli.js';
import { Teardown } from './teardown.js';
import { fleetRows, renderFleetTable } from './view/fleet-table.js';
import { formatSeconds, type Terminal } from './view/terminal.js';
import { sleep, waitFor } from './wait.js';

export interface DemoOptions {
  /** Keep the fleet running after the story (until Ctrl-C) and keep its files. */
  readonly keep: boolean;
  /** Server data directory (new or empty); default a temporary one, removed at the end. */
  readonly data: string | undefined;
  /** Number of devices (1-16); the last one is tampered with. */
  readonly devices: number;
}

/** The policy the demo captures from the first device and assigns to the fleet. */
export const DEMO_POLICY = 'fleet-golden';
/** How often the demo's server challenges each device (the default is 60 s). */
const ATTEST_INTERVAL_SECONDS = 5;
/** Where in detector.onnx the demo flips a byte: inside the "weights". */
const TAMPER_OFFSET = 4096;

const deviceName = (i: number): string => `edge-${String(i + 1).padStart(2, '0')}`;

/** What the demo measured, for the summary and for callers. */
export interface DemoOutcome {
  readonly dataDir: string;
  readonly devices: readonly string[];
  readonly tampered: string;
  /** Tamper (the byte written) to the revocation's commit in the store, ms. */
  readonly tamperToRevokedMs: number;
  /** Tamper to the broker no longer having the device's session, ms. */
  readonly tamperToDisconnectMs: number;
}

/**
 * The whole product in one run, on this machine: a Vigil server, a fleet of
 * devices with software TPMs, enrollment, golden values, continuous
 * attestation, and the revocation of a device whose model was tampered
 * with. Everything it starts is stopped before it returns, also when it
 * fails or `signal` aborts (Ctrl-C); see README.md beside this file.
 */
export async function runDemo(options: DemoOptions, term: Terminal, signal: AbortSignal): Promise<DemoOutcome> {
  checkBuilt();
  await findSwtpmTools().catch((err: unknown) => {
    if (err instanceof SimulatorError) throw new CliError(err.message, ExitCode.Tpm, { cause: err });
    throw err;
  });
  const root = await prepareDataDir(options.data);
  const teardown = new Teardown();
  try {
    return await story(options, root, term, teardown, signal);
  } finally {
    term.line();
    term.line(term.paint.dim('stopping the agents, the software TPMs and the server…'));
    const problems = await teardown.run();
    for (const p of problems) term.line(term.paint.warn(`  could not stop cleanly: ${p}`));
    const keepFiles = options.keep || options.data !== undefined;
    if (!keepFiles) await rm(root.path, { recursive: true, force: true });
    term.line(keepFiles ? `stopped; the data directory stays: ${root.path}` : `stopped; removed ${root.path}`);
  }
}

/** `--data DIR` must be new or empty (the demo makes a fresh server there); otherwise a temporary directory. */
async function prepareDataDir(data: string | undefined): Promise<{ path: string }> {
  if (data === undefined) return { path: await mkdtemp(join(tmpdir(), 'vigil-demo-')) };
  const path = resolve(data);
  if (existsSync(path)) {
    const entries = await readdir(path).catch((err: NodeJS.ErrnoException) => {
      throw new CliError(`--data ${path}: ${err.code === 'ENOTDIR' ? 'not a directory' : err.message}`, ExitCode.Usage);
    });
    if (entries.length > 0) throw new CliError(`--data ${path} is not empty: give a new or empty directory (the demo creates a fresh server there)`, ExitCode.Usage);
  }
  await mkdir(path, { recursive: true, mode: 0o700 });
  return { path };
}

async function story(options: DemoOptions, root: { path: string }, term: Terminal, teardown: Teardown, signal: AbortSignal): Promise<DemoOutcome> {
  const p = term.paint;
  const paths = dataDir(root.path);
  const demoDir = join(paths.root, 'demo');
  await mkdir(demoDir, { recursive: true, mode: 0o700 });
  const names = Array.from({ length: options.devices }, (_, i) => deviceName(i));
  const d = `--data ${paths.root}`;

  term.line(p.bold(`Vigil demo: ${names.length} edge device${names.length === 1 ? '' : 's'} with software TPMs, one verifier, one tampered model.`));
  term.line(p.dim(`data directory ${paths.root} (server data, and each device under demo/)`));
  term.line();

  // 1. The server's data directory (fleet CA, broker certificate, database) and the devices' TPMs, side by side.
  term.command(`vigil-server init ${d} --san localhost --san 127.0.0.1`);
  const devices = await term.step(
    `fleet CA and data directory; ${names.length} TPM${names.length === 1 ? '' : 's'} manufactured with EK certificates`,
    async (progress) => {
      const manufacturer = await SwtpmManufacturer.open(join(demoDir, 'manufacturer'), { manufacturer: 'Vigil', model: 'vigil-demo-edge', version: '1.0' });
      let made = 0;
      const build = async (name: string): Promise<DemoDevice> => {
        const device = await DemoDevice.build(deviceLayout(demoDir, name), manufacturer);
        progress(`${++made}/${names.length} TPMs manufactured`);
        return device;
      };
      const manufacture = async (): Promise<DemoDevice[]> => {
        // The first TPM creates the manufacturer's CA; the others then two at a time (key generation is CPU-bound).
        const built = [await build(names[0]!)];
        for (let i = 1; i < names.length; i += 2) built.push(...(await Promise.all(names.slice(i, i + 2).map(build))));
        return built;
      };
      // If either fails, the other stops too (init is killed rather than left writing into a directory being removed).
      const stepAbort = new AbortController();
      const both = AbortSignal.any([signal, stepAbort.signal]);
      const [, built] = await Promise.all([
        serverCli(['init', '--data', paths.root, '--san', 'localhost', '--san', '127.0.0.1'], both),
        manufacture(),
      ]).catch((err: unknown) => {
        stepAbort.abort(err);
        throw err;
      });
      await trustManufacturer(paths, await manufacturer.certificates());
      return built;
    },
  );
  term.line(p.dim(`  TPM manufacturer CA trusted for EK certificates: ${MANUFACTURER_BUNDLE} in enrollment.manufacturerCaFiles`));
  for (const device of devices) teardown.add(`power off ${device.name}'s TPM`, () => device.powerOff());

  // 2. The server, in this process: embedded broker on a free port, SQLite in the data directory.
  const server = await term.step('server started', () => startServer(paths, join(demoDir, 'server.log')), (s) => {
    return `server started: MQTT over mutual TLS on ${p.bold(`localhost:${s.port}`)}, attestation every ${ATTEST_INTERVAL_SECONDS} s`;
  });
  teardown.add('stop the server', () => server.stop());
  const adminEndpoint = await readRunFile(adminPaths(paths));
  if (adminEndpoint) term.line(p.dim(`  admin API on https://${adminEndpoint.host}:${adminEndpoint.port} (client certificate in ${join(paths.root, 'admin')})`));

  // 3. Power on: each TPM starts and "firmware" measures the boot into it.
  await term.step('devices powered on', async () => Promise.all(devices.map((device) => device.powerOn())), (counts) => {
    return `${devices.length} device${devices.length === 1 ? '' : 's'} powered on: a recorded UEFI boot (${counts[0]} events: firmware, shim, GRUB, kernel) measured into each TPM`;
  });

  // 4. What an operator prepares before devices are deployed: one enrollment token per device, and the model
  // release on the fleet allowlist (by file name: every device keeps the same release in its own folder).
  const release = devices[0]!.layout.models;
  term.command(`vigil-server token create ${d} --device-name ${names[0]} --ttl 1h --label "vigil demo"${names.length > 1 ? `   (and ${names.slice(1).join(', ')})` : ''}`);
  for (const file of MODEL_FILES) term.command(`vigil-server models allow ${file} ${join(release, file)} --note "demo model release" ${d}`);
  const tokens = await term.step(
    'tokens and model allowlist',
    async () => {
      const [issued] = await Promise.all([
        Promise.all(names.map(async (name) => (await serverCli(['token', 'create', '--data', paths.root, '--device-name', name, '--ttl', '1h', '--label', 'vigil demo'], signal)).trim())),
        Promise.all(MODEL_FILES.map((file) => serverCli(['models', 'allow', file, join(release, file), '--note', 'demo model release', '--data', paths.root], signal))),
      ]);
      return issued;
    },
    () => `${names.length} enrollment token${names.length === 1 ? '' : 's'} created (one use each); the model release (${MODEL_FILES.join(', ')}) allowed fleet-wide`,
  );

  // 5. The agents: enroll (EK certificate, MakeCredential/ActivateCredential), connect, first attestation.
  const serverUrl = `mqtts://localhost:${server.port}`;
  for (const device of devices) await device.writeAgentConfig(serverUrl, paths.caCert);
  term.command(`VIGIL_AGENT_TOKEN=… vigil-agent run --config ${join(demoDir, names[0]!, 'agent.yaml')}   (one per device)`);
  await term.step(
    `${names.length} agent${names.length === 1 ? '' : 's'} enrolled and attesting`,
    async (progress) => {
      for (const [i, device] of devices.entries()) {
        await device.startAgent(tokens[i]);
        teardown.add(`stop ${device.name}'s agent`, () => device.stopAgent());
      }
      await waitFor(
        async () => {
          const rows = await Promise.all(devices.map((device) => server.context.store.getDevice(device.name)));
          for (const device of devices) await failIfAgentExited(device, 'while enrolling');
          const enrolled = rows.filter((r) => r !== null).length;
          const attested = rows.filter((r) => r !== null && r.status !== 'none').length;
          progress(`${enrolled}/${devices.length} enrolled, ${attested}/${devices.length} attested`);
          return attested === devices.length ? true : undefined;
        },
        { signal, timeoutMs: 120_000, what: 'every device to enroll and attest', exitCode: ExitCode.Network, hint: () => logHint(devices) },
      );
      for (const device of devices) await failUnlessAffirming(server, device.name, 'at its first attestation');
    },
    () => `${names.length} device${names.length === 1 ? '' : 's'} enrolled: EK certificate checked, AK bound to the EK by MakeCredential, device certificate issued`,
  );

  // 6. Golden values from the reference device, assigned to the whole fleet.
  const reference = names[0]!;
  term.command(`vigil-server policy capture ${d} --from-device ${reference} --name ${DEMO_POLICY}`);
  term.line(`  ${(await serverCli(['policy', 'capture', '--data', paths.root, '--from-device', reference, '--name', DEMO_POLICY], signal)).trim().replace(/ \(assign it with.*\)$/, '')}`);
  term.command(`vigil-server policy assign ${DEMO_POLICY} --all ${d}`);
  term.line(`  ${(await serverCli(['policy', 'assign', DEMO_POLICY, '--all', '--data', paths.root], signal)).trim()}`);

  // 7. Attest every device now, under the policy.
  term.command(`vigil-server attest ${names[0]} ${d}${names.length > 1 ? '   (each device)' : ''}`);
  await term.step(`every device affirming under ${DEMO_POLICY}`, async () => {
    const results = await Promise.all(names.map((name) => serverCli(['attest', name, '--data', paths.root], signal).catch((err: unknown) => err as Error)));
    const failures = results.filter((r): r is Error => r instanceof Error);
    if (failures.length > 0) throw new CliError(`not every device is affirming:\n${failures.map((f) => f.message).join('\n')}`, ExitCode.Failed);
  });

  // 8. The fleet, live.
  const table = async (): Promise<string[]> => renderFleetTable(await fleetRows(server.context.store, server.context.broker, names), p);
  term.line();
  term.frame(await table());
  if (term.options.interactive) {
    for (let i = 0; i < 8; i++) {
      await sleep(500, signal);
      term.frame(await table());
    }
  }
  term.line();

  // 9. Tamper with the last device's model: one byte.
  const victim = devices[devices.length - 1]!;
  const store = server.context.store;
  const broker = server.context.broker;
  const tamperedAt = Date.now();
  const flip = await flipOneByte(victim.modelFile, TAMPER_OFFSET);
  term.line(
    `${p.bad('!')} one byte of ${p.bold(victim.name)}'s ${MODEL_FILE} changed (offset ${TAMPER_OFFSET}: 0x${flip.before.toString(16).padStart(2, '0')} → 0x${flip.after.toString(16).padStart(2, '0')})`,
  );
  // The broker closes the session when the revocation commits: watch for that closely, to time it.
  const disconnectedAt = await waitFor(() => (broker.isConnected({ kind: 'device', deviceId: victim.name }) ? undefined : Date.now()), {
    signal,
    timeoutMs: 60_000,
    everyMs: 2,
    what: `${victim.name} to be disconnected after the tampering`,
    hint: () => logHint([victim]),
  });
  const verdict = await waitFor(
    async () => (await store.listAttestations(victim.name, 5)).find((a) => a.receivedAt >= tamperedAt && a.status === 'contraindicated'),
    { signal, timeoutMs: 30_000, what: `a contraindicated verdict for ${victim.name}` },
  );
  const revocation = await waitFor(async () => (await store.listRevocations(victim.name))[0], { signal, timeoutMs: 30_000, what: `${victim.name}'s revocation` });
  const reason = verdict.reasons[0];
  term.line(`${p.bad('✗')} ${p.bold(victim.name)} ${p.bad('contraindicated')}: ${reason ? `${reason.submodule}/${reason.code}: ${reason.message}` : 'no reason given'}`);
  term.line(`${p.bad('✗')} ${p.bold(victim.name)} ${p.bad('revoked')} (${revocation.reason}): certificate on the CRL, session closed, signed event on vigil/v1/fleet/revocations`);
  const exit = await Promise.race([victim.agent!.exited, sleep(30_000, signal).then(() => 'running' as const)]);
  const hook = (await readFile(victim.layout.hookLog, 'utf8').catch(() => '')).trim().split('\n').filter(Boolean);
  term.line(
    `${p.bad('✗')} ${p.bold(victim.name)}'s agent ${exit === 'running' ? 'is still running' : `exited ${exit}${exit === ExitCode.Revoked ? ' (revoked)' : ''}`}${hook.length > 0 ? '; its revoked hook ran: "stopping the model server"' : ''}`,
  );
  const toRevoked = revocation.revokedAt - tamperedAt;
  const toDisconnect = disconnectedAt - tamperedAt;
  term.line(`  ${p.bold('tamper → revoked')} ${formatSeconds(toRevoked)}   ${p.bold('tamper → disconnected')} ${formatSeconds(toDisconnect)}`);
  term.line();
  term.frame(await table());

  if (options.keep) {
    term.line();
    term.line(p.bold('The fleet keeps running; Ctrl-C stops it. From another terminal, in this repository:'));
    for (const c of [
      `npx vigil-server devices list ${d}`,
      `npx vigil-server device show ${victim.name} ${d}`,
      `npx vigil-server attestations ${reference} ${d}`,
      `npx vigil-server policy show ${DEMO_POLICY} ${d}`,
      `npx vigil-server audit verify ${d}`,
      `npx vigil-agent status --state ${victim.layout.agentState}`,
    ]) {
      term.line(`  ${c}`);
    }
    term.line(p.dim(`  broker mqtts://localhost:${server.port} (fleet CA ${paths.caCert}); logs: ${join(demoDir, 'server.log')}, ${join(demoDir, '<device>', 'agent.log')}`));
    term.line();
    // On a terminal the table stays live (each device is challenged every few seconds) until Ctrl-C.
    term.frame(await table());
    while (term.options.interactive && !signal.aborted) {
      await sleep(1000, signal).catch(() => undefined);
      if (!signal.aborted) term.frame(await table());
    }
    await untilAborted(signal);
  }
  return { dataDir: paths.root, devices: names, tampered: victim.name, tamperToRevokedMs: toRevoked, tamperToDisconnectMs: toDisconnect };
}

/** The server in this process, logging to a file (the terminal is the demo's). */
async function startServer(paths: DataDir, logFile: string): Promise<RunningServer> {
  const { startVigilServer } = await import('../app/index.js');
  const logger = createLogger({ level: 'info', destination: pino.destination({ dest: logFile, sync: true, mkdir: true }) });
  const flag = 'vigil-server demo';
  return startVigilServer({
    paths,
    logger,
    overrides: [
      { path: 'listen.host', value: '127.0.0.1', flag },
      { path: 'listen.port', value: 0, flag },
      { path: 'admin.port', value: 0, flag },
      { path: 'attestation.intervalSeconds', value: ATTEST_INTERVAL_SECONDS, flag },
    ],
  });
}

/** Ends the demo if `deviceId`'s last verdict is not affirming, with its reasons. */
async function failUnlessAffirming(server: RunningServer, deviceId: string, when: string): Promise<void> {
  const [last] = await server.context.store.listAttestations(deviceId, 1);
  if (last?.status === 'affirming') return;
  const reasons = last?.reasons.map((r) => `\n  ${r.submodule}/${r.code}: ${r.message}`).join('') ?? '';
  throw new CliError(`${deviceId} is ${last?.status ?? 'not attested'} ${when}${reasons}`, ExitCode.Failed);
}

/** Ends the demo at once when an agent exited, or when the server refused its enrollment (it would only retry). */
async function failIfAgentExited(device: DemoDevice, when: string): Promise<void> {
  const agent = device.agent;
  if (agent === undefined) return;
  const code = agent.exitCode();
  const tail = await agent.logTail(20);
  if (code !== undefined) {
    throw new CliError(`${device.name}'s agent exited (code ${code}) ${when}; the end of ${device.layout.agentLog}:\n${tail}`, code === ExitCode.Tpm ? ExitCode.Tpm : ExitCode.Network);
  }
  for (const line of tail.split('\n')) {
    let entry: { msg?: unknown; failure?: unknown; err?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (entry.msg === 'enrollment attempt failed; retrying' && entry.failure === 'refused') {
      throw new CliError(`the server refused ${device.name}'s enrollment: ${String(entry.err)} (${device.layout.agentLog})`, ExitCode.Network);
    }
  }
}

function logHint(devices: readonly DemoDevice[]): string {
  return `logs: ${devices.map((d) => d.layout.agentLog).join(', ')}`;
}

/** With --keep: until Ctrl-C or SIGTERM. */
async function untilAborted(signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}


