import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { manufactureTpm, startSimulator, type SwtpmManufacturer, type SwtpmSimulator } from '@vigil/tpm2-ts/simulator';
import { BOOT_LOG_FIXTURE } from '../locations.js';
import { startAgent, type AgentProcess } from './agent-process.js';
import { replayBootLogIntoTpm } from './boot-replay.js';
import { MODEL_FILE, writeModelFolder } from './model-folder.js';

/** Where a demo device keeps everything: `<root>/<name>/…`. */
export interface DeviceLayout {
  readonly name: string;
  readonly dir: string;
  /** swtpm's persistent state (the "chip"). */
  readonly tpmState: string;
  /** The agent's state directory (device key, certificates, AK blobs, model log, status file). */
  readonly agentState: string;
  /** The model folder the agent measures and watches. */
  readonly models: string;
  /** The firmware event log the agent sends (what /sys/kernel/security/tpm0/binary_bios_measurements is on hardware). */
  readonly bootLog: string;
  readonly agentConfig: string;
  readonly agentLog: string;
  /** Written by the agent's revoked hook. */
  readonly hookLog: string;
}

export function deviceLayout(root: string, name: string): DeviceLayout {
  const dir = join(root, name);
  return {
    name,
    dir,
    tpmState: join(dir, 'tpm'),
    agentState: join(dir, 'state'),
    models: join(dir, 'models'),
    bootLog: join(dir, 'binary_bios_measurements'),
    agentConfig: join(dir, 'agent.yaml'),
    agentLog: join(dir, 'agent.log'),
    hookLog: join(dir, 'revoked-hook.log'),
  };
}

/** A simulated edge device: a software TPM (manufactured, powered on, booted), a model folder, and the Vigil agent. */
export class DemoDevice {
  #tpm: SwtpmSimulator | undefined;
  #agent: AgentProcess | undefined;
  #socketDir: string | undefined;

  private constructor(readonly layout: DeviceLayout) {}

  get name(): string {
    return this.layout.name;
  }

  get modelFile(): string {
    return join(this.layout.models, MODEL_FILE);
  }

  get agent(): AgentProcess | undefined {
    return this.#agent;
  }

  /** Manufactures the device's TPM (its own endorsement seed, EK certificates from `manufacturer`) and writes its model folder. */
  static async build(layout: DeviceLayout, manufacturer: SwtpmManufacturer): Promise<DemoDevice> {
    await mkdir(layout.dir, { recursive: true, mode: 0o700 });
    await manufactureTpm({ stateDir: layout.tpmState, manufacturer });
    await writeModelFolder(layout.models);
    return new DemoDevice(layout);
  }

  /**
   * Powers the TPM on (swtpm on a Unix socket beside its state, or in a
   * short temp folder when that path is too long for a socket) and boots:
   * the firmware's measurements are extended into the PCRs and the event log
   * is left where the agent reads it. Returns the number of events measured.
   */
  async powerOn(): Promise<number> {
    let runDir = this.layout.tpmState;
    if (Buffer.byteLength(join(runDir, 'data.sock')) > 100) {
      this.#socketDir = await mkdtemp(join(tmpdir(), 'vigil-demo-tpm-'));
      runDir = this.#socketDir;
    }
    this.#tpm = await startSimulator({ stateDir: this.layout.tpmState, runDir });
    const log = await readFile(BOOT_LOG_FIXTURE);
    await writeFile(this.layout.bootLog, log);
    const tpm = this.#tpm.connect();
    try {
      return await replayBootLogIntoTpm(tpm, log);
    } finally {
      await tpm.close();
    }
  }

  /** The agent's configuration file, as an operator would write /etc/vigil/agent.yaml. */
  async writeAgentConfig(server: string, caFile: string): Promise<void> {
    if (this.#tpm === undefined) throw new Error(`${this.name}: power the TPM on first`);
    const l = this.layout;
    const config = {
      server,
      ca: caFile,
      tpm: this.#tpm.uri,
      state: l.agentState,
      models: [l.models],
      eventlog: l.bootLog,
      // This host's IMA list (if it has one) belongs to this host's TPM, not to the simulated device's.
      imaLog: join(l.dir, 'no-ima-log'),
      revokedHook: `echo "$(date -u +%FT%TZ) $VIGIL_DEVICE_ID revoked ($VIGIL_REVOCATION_REASON): stopping the model server" >> '${l.hookLog}'`,
      reconnect: { initialDelayMs: 200, maxDelayMs: 2000 },
      tpmHealth: { pollSeconds: 2 },
      log: { level: 'info' },
    };
    const header = `# vigil-agent configuration of demo device ${this.name} (written by vigil-server demo).\n# Every key: agent/packaging/agent.yaml. The enrollment token is passed in VIGIL_AGENT_TOKEN.\n`;
    await writeFile(l.agentConfig, header + YAML.stringify(config, { lineWidth: 0 }), { mode: 0o600 });
  }

  /** Starts `vigil-agent run`; with a token it enrolls first. */
  async startAgent(token?: string): Promise<AgentProcess> {
    this.#agent = await startAgent({ configFile: this.layout.agentConfig, logFile: this.layout.agentLog, ...(token !== undefined ? { token } : {}) });
    return this.#agent;
  }

  async stopAgent(): Promise<void> {
    await this.#agent?.stop();
  }

  async powerOff(): Promise<void> {
    await this.#tpm?.stop();
    this.#tpm = undefined;
    if (this.#socketDir !== undefined) await rm(this.#socketDir, { recursive: true, force: true });
    this.#socketDir = undefined;
  }
}
