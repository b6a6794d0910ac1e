/** Messages between the hashing pool and its workers. */
export interface WorkerRequest {
  readonly id: number;
  readonly path: string;
  readonly readSize: number;
  /** Overlap reads with hashing (see hash-file.ts), or read and hash in turn. */
  readonly overlapReads: boolean;
}

export type WorkerReply =
  | { readonly id: number; readonly kind: 'progress'; readonly bytes: number }
  | { readonly id: number; readonly kind: 'done'; readonly digest: Uint8Array; readonly size: number }
  | { readonly id: number; readonly kind: 'error'; readonly code: string; readonly message: string };
