import { type Command, Option } from 'commander';
import { configLeaves, ConfigError, loadAgentConfig, renderAgentConfig, DEFAULT_CONFIG_PATH, type ConfigLeaf } from '../../config/index.js';
import { createAgentLogger } from '../../log.js';
import { CliError, ExitCode } from '../exit-codes.js';

/**
 * `vigil-agent run`: the daemon. Every configuration key is also a flag
 * (generated from the schema: `watch.debounceMs` → `--watch-debounce-ms`)
 * and a `VIGIL_AGENT_*` variable; `--config FILE` (or VIGIL_AGENT_CONFIG)
 * names the YAML file, default /etc/vigil/agent.yaml when it exists.
 * Exit codes: 0 after SIGTERM/SIGINT, 2 bad configuration or no token to
 * enroll with, 3 state directory, 4 TPM cleared without a token to
 * re-enroll, 1 enrollment refused, 6 revoked (do not restart).
 */
export function register(program: Command): void {
  const run = program
    .command('run')
    .description('run the attestation daemon: enroll if needed, stay connected, answer challenges, watch the models')
    .option('--config <file>', `YAML configuration file (default: $VIGIL_AGENT_CONFIG or ${DEFAULT_CONFIG_PATH} if it exists)`)
    .option('--print-config', 'print the effective configuration (secrets redacted) and exit')
    .option('--example-config', 'print a commented example configuration with every key and exit');
  for (const leaf of configLeaves) addFlag(run, leaf);

  run.action(async (options: Record<string, unknown>) => {
    if (options['exampleConfig'] === true) {
      process.stdout.write(renderAgentConfig());
      return;
    }
    const flags = new Map<string, string | boolean | readonly string[]>();
    for (const leaf of configLeaves) {
      const value = options[leaf.optionName];
      if (typeof value === 'string' || typeof value === 'boolean' || Array.isArray(value)) flags.set(leaf.key, value as string | boolean | readonly string[]);
    }
    let loaded;
    try {
      loaded = await loadAgentConfig({ configPath: options['config'] as string | undefined, flags });
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(err.message, ExitCode.Usage, { cause: err });
      throw err;
    }
    if (options['printConfig'] === true) {
      process.stdout.write(renderAgentConfig(loaded.config));
      return;
    }
    const log = createAgentLogger({ level: loaded.config.log.level });
    for (const w of loaded.warnings) log.warn(w);
    log.info({ config: loaded.file ?? 'none', state: loaded.config.state }, 'vigil-agent starting');

    // Loaded here, not at the top: every vigil-agent command registers at start-up.
    const [{ AgentDaemon }, { createAttester }] = await Promise.all([import('../../daemon/daemon.js'), import('../../daemon/attestation-adapter.js')]);
    const daemon = new AgentDaemon({ config: loaded.config, log, attester: createAttester });
    const onSignal = (signal: NodeJS.Signals): void => {
      log.info({ signal }, 'stopping');
      daemon.stop(`stopped by ${signal}`);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    try {
      const exit = await daemon.run();
      log.info({ exitCode: exit.exitCode, reason: exit.reason }, 'vigil-agent stopped');
      // Everything is closed; should some I/O still hold the event loop (an enrollment attempt cut short), do not linger.
      setTimeout(() => process.exit(), 5000).unref();
      if (exit.exitCode !== ExitCode.Ok) throw new CliError(exit.reason, exit.exitCode);
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  });
}

function addFlag(command: Command, leaf: ConfigLeaf): void {
  const help = `${leaf.node.description ?? leaf.key} [${leaf.envName}]`;
  if (leaf.node.type === 'boolean') {
    command.addOption(new Option(`--${leaf.flag}`, help));
    command.addOption(new Option(`--no-${leaf.flag}`, `turn off --${leaf.flag}`));
    return;
  }
  const option = new Option(`--${leaf.flag} ${leaf.node.placeholder ?? '<value>'}`, help);
  if (leaf.node.type === 'array') option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
  command.addOption(option);
}
