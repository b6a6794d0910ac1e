/**
 * A real Mosquitto 2 broker for tests, configured from Vigil's reference
 * configuration (`deploy/mosquitto/mosquitto.conf`) with only the file
 * locations and the port changed: TLS 1.3 with client certificates from
 * the test's fleet CA, `use_identity_as_username`, the CRL, and the
 * dynamic-security plugin seeded with `dynsecConfigFile` for the given
 * verifier replicas (plus `test-admin`, whose credential the test uses to
 * look at the plugin's state with `mosquitto_ctrl`).
 *
 *   const mq = await startMosquitto(ca, { replicas: ['a', 'b'] });   // undefined if mosquitto is not installed
 *   mq.url                          // mqtts://localhost:PORT
 *   mq.reloadCommand                // broker.crlReloadCommand for the replicas (copy the CRL, SIGHUP)
 *   await mq.ctl(['getClient', 'cam-1'])
 *   await mq.stop();                // in afterAll
 *
 * Mosquitto runs under a watchdog shell (stopped and its temp dir removed
 * when this test process ends, even by SIGKILL), as the `mosquitto` user
 * when the tests run as root.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hours, type FleetCa } from '@vigil/server';
import { dynsecConfigFile } from '../../server/src/broker-external/dynsec/config-file.js';
import { issueVerifierCredentials, type VerifierCredentials } from '../../server/src/broker-external/index.js';
import { findDynsecPlugin, mosquittoConf } from '../../bench/src/mosquitto-conf.js';
import { sharedKeyPem } from './pki.js';

const run = promisify(execFile);

export const INSTALL_CRL = join(import.meta.dirname, '..', '..', 'deploy', 'mosquitto', 'install-crl.sh');

function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return existsSync(`/usr/sbin/${cmd}`);
  }
}

/** True when mosquitto, mosquitto_ctrl and the dynamic-security plugin are installed. */
export const mosquittoAvailable = hasCommand('mosquitto') && hasCommand('mosquitto_ctrl') && findDynsecPlugin() !== undefined;

export interface MosquittoBroker {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** The CRL file the broker reads. */
  readonly crlPath: string;
  /** `broker.crlReloadCommand` for replicas on this host: deploy/mosquitto/install-crl.sh for this broker's CRL and pid file. */
  readonly reloadCommand: readonly string[];
  /** The `test-admin` replica credential (dynamic-security admin and verifier roles). */
  readonly admin: VerifierCredentials;
  /** Runs `mosquitto_ctrl dynsec <args>` as test-admin; returns stdout. */
  ctl(args: readonly string[]): Promise<string>;
  /** The broker's log so far. */
  log(): string;
  /** SIGHUP: reload the configuration (and the CRL). */
  reload(): void;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function mosquittoUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  return {
    uid: Number(execFileSync('id', ['-u', 'mosquitto'], { encoding: 'utf8' }).trim()),
    gid: Number(execFileSync('id', ['-g', 'mosquitto'], { encoding: 'utf8' }).trim()),
  };
}

const WATCHDOG =
  'dir="$1"; shift; exec 3<&0; "$@" & p=$!; ( read _ <&3; kill -TERM $p 2>/dev/null ) & w=$!; wait $p; rc=$?; kill $w 2>/dev/null; rm -rf "$dir"; exit $rc';

const brokers = new Set<ChildProcess>();
process.once('exit', () => {
  for (const b of brokers) b.stdin?.destroy();
});

/** Starts a broker for the fleet CA `ca`, or returns undefined when Mosquitto is not installed. */
export async function startMosquitto(ca: FleetCa, options: { replicas: readonly string[]; crlPem?: string }): Promise<MosquittoBroker | undefined> {
  const plugin = findDynsecPlugin();
  if (!mosquittoAvailable || plugin === undefined) return undefined;
  const owner = mosquittoUser();
  const dir = mkdtempSync(join(tmpdir(), 'vigil-mosquitto-'));
  const port = await freePort();
  const keyPem = sharedKeyPem();
  const server = ca.issueServerCertificate({ publicKey: createPrivateKey(keyPem), sans: ['localhost', '127.0.0.1'], validityMs: hours(24) });
  const crlPem = options.crlPem ?? (await ca.issueCrl([]));
  const files: Record<string, string> = {
    'ca.pem': ca.certificatePem,
    'broker.pem': server.pem,
    'broker.key': keyPem,
    'crl.pem': crlPem,
    'dynamic-security.json': dynsecConfigFile([...options.replicas, 'test-admin']),
    'mosquitto.conf': mosquittoConf({ dir, port, plugin, extra: [`log_dest file ${join(dir, 'mosquitto.log')}`, 'log_type all', 'persistence false'] }),
  };
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(dir, name), text, { mode: name.endsWith('.key') || name.endsWith('.json') ? 0o600 : 0o644 });
    if (owner !== undefined) chownSync(join(dir, name), owner.uid, owner.gid);
  }
  if (owner !== undefined) chownSync(dir, owner.uid, owner.gid);
  const admin = await issueVerifierCredentials(ca, 'test-admin', hours(24));
  writeFileSync(join(dir, 'test-admin.pem'), admin.certificatePem);
  writeFileSync(join(dir, 'test-admin.key'), admin.privateKeyPem, { mode: 0o600 });

  const as = owner === undefined ? {} : { uid: owner.uid, gid: owner.gid };
  const child = spawn('sh', ['-c', WATCHDOG, 'mosquitto-watchdog', dir, 'mosquitto', '-c', join(dir, 'mosquitto.conf')], { ...as, cwd: dir, stdio: ['pipe', 'ignore', 'pipe'] });
  brokers.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    if (stderr.length < 16_000) stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      brokers.delete(child);
      resolve();
    }),
  );
  const log = () => {
    try {
      return readFileSync(join(dir, 'mosquitto.log'), 'utf8');
    } catch {
      return '';
    }
  };
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`mosquitto did not start: ${stderr}${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (open && existsSync(join(dir, 'mosquitto.pid'))) break;
    if (attempt > 200) {
      child.stdin!.end();
      throw new Error(`mosquitto did not listen within 20 s: ${stderr}${log()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const pidFile = join(dir, 'mosquitto.pid');
  const crlPath = join(dir, 'crl.pem');
  const common = ['-h', 'localhost', '-p', String(port), '--cafile', join(dir, 'ca.pem'), '--cert', join(dir, 'test-admin.pem'), '--key', join(dir, 'test-admin.key')];
  return {
    url: `mqtts://localhost:${port}`,
    port,
    dir,
    crlPath,
    reloadCommand: [INSTALL_CRL, crlPath, pidFile],
    admin,
    async ctl(args) {
      const { stdout } = await run('mosquitto_ctrl', [...common, 'dynsec', ...args], { timeout: 15_000 });
      return stdout;
    },
    log,
    reload() {
      process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 'SIGHUP');
    },
    async stop() {
      child.stdin!.end();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
