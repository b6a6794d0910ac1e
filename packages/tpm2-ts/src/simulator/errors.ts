/** What went wrong with a software TPM (swtpm) the simulator module manages. */
export type SimulatorFailure =
  /** swtpm, swtpm_setup or swtpm_localca is not installed (or not at the configured path). */
  | 'not-installed'
  /** swtpm_setup could not manufacture the TPM (its output is in `output`). */
  | 'manufacture-failed'
  /** swtpm exited or did not answer on its control channel while starting. */
  | 'start-failed'
  /** A Unix socket path is longer than the kernel allows (sun_path, 108 bytes). */
  | 'socket-path-too-long'
  /** The simulator was used after `stop()`. */
  | 'stopped';

/** A typed failure of the simulator module; `output` holds what swtpm/swtpm_setup printed, when there is any. */
export class SimulatorError extends Error {
  constructor(
    readonly failure: SimulatorFailure,
    message: string,
    readonly output?: string,
    options?: { cause?: unknown },
  ) {
    super(output ? `${message}\n${output.trimEnd()}` : message, options);
    this.name = 'SimulatorError';
  }
}
