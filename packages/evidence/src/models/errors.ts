/** Why a model path could not be measured. */
export type ModelHashErrorCode =
  | 'symlink' // a symbolic link, refused unless allowSymlinks
  | 'not-found'
  | 'unsupported-type' // a socket, FIFO or device
  | 'unsupported-name' // a name the manifest cannot carry (newline, backslash, invalid UTF-8)
  | 'empty' // a folder with no files
  | 'io' // reading failed
  | 'worker'; // the hashing worker failed or is not built

export class ModelHashError extends Error {
  constructor(
    readonly code: ModelHashErrorCode,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${message}`, options);
    this.name = 'ModelHashError';
  }
}
