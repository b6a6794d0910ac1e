/** What `BackgroundCheckpointer` and its worker thread say to each other. */
export interface CheckpointWorkerData {
  readonly path: string;
  readonly intervalMs: number;
  readonly busyTimeoutMs: number;
  readonly synchronous: 'NORMAL' | 'FULL';
}

export type CheckpointReply =
  /** One checkpoint ran: WAL frames in the log and how many of them are now in the database file (SQLite's `wal_checkpoint` columns). */
  | { readonly type: 'checkpointed'; readonly busy: number; readonly log: number; readonly checkpointed: number }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'stopped' };
