/**
 * The real devices of a simulated fleet: a few swtpm instances, each
 * manufactured with its own EK certificate (`@vigil/tpm2-ts/simulator`),
 * booted by replaying the fleet's boot event log into its PCRs, with a small
 * model folder, driven by the built `vigil-agent run` (the real agent:
 * enrollment through the registrar with ActivateCredential, then the real
 * evidence builder answering every challenge). They keep both paths
 * exercised in every run; their verdicts are counted from the agents' logs.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manufactureTpm, startSimulator, SwtpmManufacturer, type SwtpmSimulator } from '@vigil/tpm2-ts/simulator';
import { startAgentProcess, type AgentChild } from '../agent-rig.js';
import type { BootImage } from './boot-image.js';

export interface SwtpmDevicesOptions {
  /** Where TPM state, agent state and model folders go. */
  readonly root: string;
  readonly count: number;
  readonly bootImage: BootImage;
}

export interface AgentLaunch {
  /** `mqtts://localhost:<port>` */
  readonly serverUrl: string;
  /** The fleet CA certificate file. */
  readonly caFile: string;
  /** One enrollment token per agent. */
  newToken(): Promise<string>;
}

interface RealDevice {
  readonly dir: string;
  readonly bootLog: string;
  readonly tpm: SwtpmSimulator;
  agent?: AgentChild;
}

export class SwtpmAgents {
  readonly #devices: RealDevice[] = [];
  readonly #socketDirs: string[] = [];

  /** PEM of the manufacturer CA (root and issuer) that certified these TPMs' EKs: the server must trust it. */
  caPem = '';

  private constructor(readonly root: string) {}

  /**
   * Manufactures (one local CA for all: swtpm_localca), powers on and boots
   * `count` TPMs and writes each device's event log and model folder. The
   * agents start later (`startAgents`), once a server trusts `caPem`.
   */
  static async prepare(options: SwtpmDevicesOptions): Promise<SwtpmAgents> {
    const agents = new SwtpmAgents(options.root);
    try {
      const manufacturer = await SwtpmManufacturer.open(join(options.root, 'manufacturer'));
      for (let i = 0; i < options.count; i++) {
        const dir = join(options.root, `swtpm-${i}`);
        await mkdir(join(dir, 'models'), { recursive: true, mode: 0o700 });
        await manufactureTpm({ stateDir: join(dir, 'tpm'), manufacturer });
        // A Unix socket path must stay under ~100 bytes: the socket goes in a short temp dir.
        const runDir = mkdtempSync(join(tmpdir(), 'vigil-fleet-tpm-'));
        agents.#socketDirs.push(runDir);
        const tpm = await startSimulator({ stateDir: join(dir, 'tpm'), runDir });
        const conn = tpm.connect();
        try {
          await options.bootImage.replayIntoTpm(conn);
        } finally {
          await conn.close();
        }
        const bootLog = join(dir, 'binary_bios_measurements');
        await writeFile(bootLog, options.bootImage.bytes);
        for (const [name, size] of [['detector.onnx', 256 * 1024], ['labels.txt', 2048]] as const) {
          const bytes = Buffer.alloc(size);
          for (let k = 0; k < size; k += 4) bytes.writeUInt32BE((k * 2654435761) >>> 0, k);
          await writeFile(join(dir, 'models', name), bytes);
        }
        agents.#devices.push({ dir, bootLog, tpm });
      }
      if (options.count > 0) {
        const { rootPem, issuerPem } = await manufacturer.certificates();
        agents.caPem = rootPem + issuerPem;
      }
    } catch (err) {
      await agents.stop();
      throw err;
    }
    return agents;
  }

  /** Starts `vigil-agent run` on every device: each enrolls with a fresh token, then answers challenges. */
  async startAgents(launch: AgentLaunch): Promise<void> {
    for (const d of this.#devices) {
      d.agent = startAgentProcess([
        '--server',
        launch.serverUrl,
        '--ca',
        launch.caFile,
        '--tpm',
        d.tpm.uri,
        '--state',
        join(d.dir, 'state'),
        '--model',
        join(d.dir, 'models'),
        '--eventlog',
        d.bootLog,
        '--ima-log',
        join(d.dir, 'no-ima'),
        '--token',
        await launch.newToken(),
      ]);
    }
  }

  get count(): number {
    return this.#devices.length;
  }

  /** Verdicts the agents logged, by status (`affirming`, ...). */
  verdicts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const d of this.#devices) {
      for (const l of d.agent?.logs.lines ?? []) {
        if (l.msg === 'verdict') out[String(l.status)] = (out[String(l.status)] ?? 0) + 1;
      }
    }
    return out;
  }

  /** Agents that logged at least one affirming verdict. */
  affirmed(): number {
    return this.#devices.filter((d) => d.agent?.logs.lines.some((l) => l.msg === 'verdict' && l.status === 'affirming')).length;
  }

  /** Waits until every agent logged an affirming verdict (enrolled and attested through the real path). */
  async waitAffirmed(timeoutMs: number): Promise<void> {
    await Promise.all(this.#devices.map((d, i) => d.agent!.logs.waitFor((l) => l.msg === 'verdict' && l.status === 'affirming', timeoutMs, `an affirming verdict from swtpm device ${i}`)));
  }

  async stop(): Promise<void> {
    for (const d of this.#devices) await d.agent?.stop();
    for (const d of this.#devices) await d.tpm.stop();
    for (const dir of this.#socketDirs) await rm(dir, { recursive: true, force: true });
    this.#devices.length = 0;
  }
}
