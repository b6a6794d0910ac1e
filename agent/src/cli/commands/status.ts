import type { Command } from 'commander';
import { readStatusFile, StatusFileError } from '../../daemon/status-file.js';
import type { AgentStatus } from '../../daemon/status-schema.js';
import { readEnrollment, StateError } from '../../state/index.js';
import { CliError, ExitCode } from '../exit-codes.js';

const DEFAULT_STATE = '/var/lib/vigil-agent';

/** What `vigil-agent status --json` prints: the daemon's status file, whether the daemon is alive, and the enrollment. */
export interface StatusReport {
  /** The process that wrote the status file is still alive. */
  readonly running: boolean;
  readonly enrollment: AgentStatus['enrollment'];
  /** The daemon's status file, when it has run with this state directory. */
  readonly status: AgentStatus | undefined;
}

/**
 * `vigil-agent status --state DIR [--json]`: enrollment (device id,
 * certificate expiry), connection state, TPM reachability, last verdict,
 * next expected challenge, from the status file the daemon keeps (replaced
 * atomically) and `enrollment.json`. Exit 0 when the state directory has
 * either; 3 when it has neither or they cannot be read.
 */
export function register(program: Command): void {
  program
    .command('status')
    .description('show enrollment, connection, TPM, last verdict and next challenge of the agent using a state directory')
    .option('--state <dir>', `state directory (default: $VIGIL_AGENT_STATE or ${DEFAULT_STATE})`)
    .option('--json', 'print JSON')
    .action(async (options: { state?: string; json?: boolean }) => {
      const state = options.state ?? process.env['VIGIL_AGENT_STATE'] ?? DEFAULT_STATE;
      const report = await statusReport(state);
      process.stdout.write(options.json === true ? JSON.stringify(report, null, 2) + '\n' : formatReport(report, state));
    });
}

export async function statusReport(stateDir: string): Promise<StatusReport> {
  let status: AgentStatus | undefined;
  try {
    status = await readStatusFile(stateDir);
  } catch (err) {
    if (!(err instanceof StatusFileError)) throw err;
    if (err.code !== 'missing') throw new CliError(err.message, ExitCode.Io, { cause: err });
  }
  let record;
  try {
    record = await readEnrollment(stateDir);
  } catch (err) {
    if (err instanceof StateError) throw new CliError(err.message, ExitCode.Io, { cause: err });
    throw err;
  }
  if (status === undefined && record === undefined) {
    throw new CliError(`${stateDir}: no agent state (neither enrolled nor ever run with this state directory)`, ExitCode.Io);
  }
  const enrollment: AgentStatus['enrollment'] = record
    ? {
        ...(status?.enrollment ?? {}),
        enrolled: true,
        deviceId: record.deviceId,
        certificateSerial: status?.enrollment.certificateSerial ?? record.certificate.serial,
        certificateNotAfter: status?.enrollment.certificateNotAfter ?? record.certificate.notAfter,
      }
    : (status?.enrollment ?? { enrolled: false });
  const running = status !== undefined && status.stopped === undefined && processAlive(status.pid);
  return { running, enrollment, status };
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function when(ms: number | undefined, now = Date.now()): string {
  if (ms === undefined) return 'unknown';
  const d = Math.round((ms - now) / 1000);
  const rel = Math.abs(d) < 60 ? `${Math.abs(d)} s` : Math.abs(d) < 7200 ? `${Math.round(Math.abs(d) / 60)} min` : `${Math.round(Math.abs(d) / 3600)} h`;
  return `${new Date(ms).toISOString()} (${d >= 0 ? `in ${rel}` : `${rel} ago`})`;
}

export function formatReport(r: StatusReport, stateDir: string): string {
  const s = r.status;
  const e = r.enrollment;
  const lines = [
    `state directory   ${stateDir}`,
    `agent             ${r.running ? `running (pid ${s!.pid}, version ${s!.agentVersion})` : s?.stopped ? `stopped ${when(s.stopped.at)}, exit ${s.stopped.exitCode}: ${s.stopped.reason}` : 'not running'}`,
    `enrollment        ${e.enrolled ? `enrolled as ${e.deviceId}` : 'not enrolled'}`,
  ];
  if (e.enrolled) lines.push(`certificate       serial ${e.certificateSerial ?? '?'}, expires ${when(e.certificateNotAfter)}`);
  if (s) {
    const c = s.connection;
    lines.push(
      `server            ${s.server}`,
      `connection        ${c.state} since ${when(c.since)}${c.nextAttemptAt ? `, next attempt ${when(c.nextAttemptAt)}` : ''}${c.lastError ? ` (last error: ${c.lastError})` : ''}`,
      `TPM               ${s.tpm.reachable ? 'reachable' : 'UNREACHABLE'} (${s.tpm.uri})${s.tpm.resetCount !== undefined ? `, resetCount ${s.tpm.resetCount}` : ''}${s.tpm.lastError ? `: ${s.tpm.lastError}` : ''}`,
      `models            ${s.models.files} file(s) in PCR ${s.models.pcr}${s.models.pending ? `, ${s.models.pending} waiting` : ''}${s.models.measuredAt ? `, last measured ${when(s.models.measuredAt)}` : ''}${s.models.lastError ? ` (${s.models.lastError})` : ''}`,
      `last verdict      ${s.lastVerdict ? `${s.lastVerdict.status} ${when(s.lastVerdict.at)}${s.lastVerdict.reasons.length ? ` [${s.lastVerdict.reasons.join(', ')}]` : ''}` : 'none yet'}`,
      `last challenge    ${s.lastChallenge ? `${s.lastChallenge.challengeId} received ${when(s.lastChallenge.receivedAt)}${s.lastChallenge.answeredAt ? ', answered' : ', not answered'}` : 'none yet'}`,
      `next challenge    ${s.nextChallengeExpectedAt ? `expected ${when(s.nextChallengeExpectedAt)}` : 'unknown (needs two challenges to estimate)'}`,
    );
    if (s.revoked) lines.push(`REVOKED           ${when(s.revoked.at)} (${s.revoked.source}): ${s.revoked.reason}`);
  }
  return lines.join('\n') + '\n';
}
