/**
 * An invalid configuration value, naming the key (`listen.port`) and where the
 * value came from (`config.yaml`, `VIGIL_LISTEN_PORT`, `--port`). The CLI
 * turns it into exit code 2.
 */
export class ConfigError extends Error {
  constructor(
    /** Dotted key path, e.g. `limits.maxPacketBytes`; empty for the whole file. */
    readonly path: string,
    /** Where the bad value came from. */
    readonly source: string,
    detail: string,
  ) {
    super(`invalid configuration${path ? ` at ${path}` : ''} (from ${source}): ${detail}`);
    this.name = 'ConfigError';
  }
}
