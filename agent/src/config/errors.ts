/**
 * An invalid or missing configuration value, naming the key (`watch.debounceMs`)
 * and where the value came from (`agent.yaml`, `VIGIL_AGENT_WATCH_DEBOUNCE_MS`,
 * `--watch-debounce-ms`, or `default`). `vigil-agent run` exits 2 on it.
 */
export class ConfigError extends Error {
  constructor(
    /** Dotted key path; empty for the file as a whole. */
    readonly key: string,
    /** Where the bad value came from. */
    readonly source: string,
    detail: string,
  ) {
    super(`invalid configuration${key ? ` at ${key}` : ''} (from ${source}): ${detail}`);
    this.name = 'ConfigError';
  }
}
