import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { CliError, ExitCode } from '../exit-codes.js';

const DEFAULT_TPM = 'device:/dev/tpmrm0';
const DEFAULT_STATE = '/var/lib/vigil-agent';

interface EnrollCliOptions {
  readonly server: string;
  readonly ca: string;
  readonly token?: string;
  readonly tpm?: string;
  readonly state: string;
  readonly ak: string;
  readonly timeout: string;
  readonly force?: boolean;
  readonly json?: boolean;
  readonly logLevel: string;
}

/**
 * `vigil-agent enroll`: joins the fleet with this device's TPM (see
 * `src/enroll/README.md`). Exit codes: 0 enrolled, 1 refused by the server
 * (its reason is printed), 2 bad options, 3 state directory, 4 TPM, 5 network
 * (unreachable, TLS or MQTT refusal, no answer within --timeout: every wait,
 * TPM included, is bounded by it).
 */
export function register(program: Command): void {
  program
    .command('enroll')
    .description("enroll this device: prove its TPM to the Vigil server with a token and receive the device certificate")
    .requiredOption('--server <url>', 'mqtts://HOST[:PORT] of the Vigil broker (default port 8883)')
    .requiredOption('--ca <file>', 'the fleet CA certificate (PEM), from the server’s data directory (ca.pem)')
    .option('--token <token>', 'enrollment token from vigil-server token create (default: $VIGIL_AGENT_TOKEN)')
    .option('--tpm <uri>', `TPM URI: device:/dev/tpmrm0, swtpm:path=..., swtpm:host=...,port=... (default: $VIGIL_TPM or ${DEFAULT_TPM})`)
    .option('--state <dir>', 'state directory for the key, certificates and AK (created 0700)', DEFAULT_STATE)
    .option('--ak <kind>', 'attestation key: rsa (RSA 2048 under the RSA EK) or ecc (P-256 under the P-384/P-256 EK)', 'rsa')
    .option('--timeout <seconds>', 'give up when enrollment has not finished within this many seconds (every wait: TPM, connection, the server\'s answers)', '60')
    .option('--force', 'enroll again even though the state directory already holds an enrollment')
    .option('--json', 'print the result as JSON')
    .option('--log-level <level>', 'fatal, error, warn, info, debug or silent (logs are JSON lines on stderr)', 'warn')
    .action(async (options: EnrollCliOptions) => {
      const token = options.token ?? process.env['VIGIL_AGENT_TOKEN'];
      if (token === undefined || token === '') throw new CliError('an enrollment token is needed: --token or $VIGIL_AGENT_TOKEN', ExitCode.Usage);
      const akKind = options.ak;
      if (akKind !== 'rsa' && akKind !== 'ecc') throw new CliError(`--ak: '${akKind}' is not rsa or ecc`, ExitCode.Usage);
      if (!/^\d{1,4}$/.test(options.timeout) || Number(options.timeout) < 1) throw new CliError('--timeout: a whole number of seconds from 1 to 9999', ExitCode.Usage);
      const level = options.logLevel;
      if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(level)) throw new CliError(`--log-level: '${level}' is not a log level`, ExitCode.Usage);

      let caPem: string;
      try {
        caPem = await readFile(options.ca, 'utf8');
      } catch (err) {
        throw new CliError(`--ca: cannot read ${options.ca}: ${(err as Error).message}`, ExitCode.Io, { cause: err });
      }
      // Loaded on use: every vigil-agent command registers when the program starts.
      const [{ enroll, EnrollmentError }, { readEnrollment, StateError }, { createAgentLogger }] = await Promise.all([
        import('../../enroll/index.js'),
        import('../../state/index.js'),
        import('../../log.js'),
      ]);
      try {
        const existing = await readEnrollment(options.state);
        if (existing !== undefined && options.force !== true) {
          throw new CliError(`${options.state} is already enrolled as ${existing.deviceId} (--force enrolls again)`, ExitCode.Usage);
        }
      } catch (err) {
        if (err instanceof StateError) throw new CliError(err.message, ExitCode.Io, { cause: err });
        throw err;
      }

      let enrolled;
      try {
        enrolled = await enroll({
          server: options.server,
          caPem,
          token,
          tpmUri: options.tpm ?? process.env['VIGIL_TPM'] ?? DEFAULT_TPM,
          stateDir: options.state,
          akKind,
          timeoutMs: Number(options.timeout) * 1000,
          log: createAgentLogger({ level: level as 'warn' }),
        });
      } catch (err) {
        if (err instanceof EnrollmentError) throw new CliError(err.message, EXIT_CODES[err.failure], { cause: err });
        throw err;
      }
      const { record, paths } = enrolled;
      if (options.json === true) {
        const summary = {
          deviceId: record.deviceId,
          serial: record.certificate.serial,
          notAfter: new Date(record.certificate.notAfter).toISOString(),
          ekKind: record.tpm.ekKind,
          akKind: record.tpm.akKind,
          akCreated: enrolled.akCreated,
          stateDir: paths.root,
          certificate: paths.deviceCertificate,
          key: paths.key,
        };
        process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
      } else {
        process.stdout.write(`enrolled as ${record.deviceId}: certificate ${paths.deviceCertificate} valid until ${new Date(record.certificate.notAfter).toISOString()}\n`);
      }
    });
}

const EXIT_CODES = {
  refused: ExitCode.Failed,
  usage: ExitCode.Usage,
  state: ExitCode.Io,
  tpm: ExitCode.Tpm,
  network: ExitCode.Network,
  timeout: ExitCode.Network,
  // Only the daemon cancels (it is stopping); a command line enrollment has no signal to cancel it.
  cancelled: ExitCode.Ok,
  protocol: ExitCode.Network,
} as const;
