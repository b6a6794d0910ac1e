// One exit code table for vigil-agent and vigil-server (the demo reads the
// agent's exit code with it): it lives in @vigil/runtime, documented in the
// README (Command-line exit codes).
export { ExitCode, CliError } from '@vigil/runtime';
