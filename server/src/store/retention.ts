/**
 * How long challenges, challenge uses and enrollment sessions are kept after
 * they expired; then `Store.pruneExpired` may delete them (the registrar's
 * hourly housekeeping does). The verifier relies on it: a sealed challenge
 * that expired longer ago than this may have lost its use record, so an
 * answer to it is refused as unknown, as a pruned stored challenge was.
 */
export const EXPIRED_KEPT_MS = 24 * 60 * 60_000;

/**
 * Rows a prune deletes per transaction; on SQLite, whose statements run on
 * the server's event loop, with a turn of the loop between slices: a few
 * milliseconds each (`npm run bench -- prune`).
 * Challenge uses are small rows in one B-tree; an attestation is ~1 KB
 * with an index entry, about ten times the work a row (2,000 a slice held
 * the loop up to 52 ms).
 */
export const PRUNE_SLICE = 2000;
export const ATTESTATION_PRUNE_SLICE = 250;

/** One window of `pruneAttestations`: the last id it covered, whether it was full, whether it held anything older than the cut, and what it deleted. */
export interface PruneWindow {
  readonly last: number;
  readonly full: boolean;
  readonly old: boolean;
  readonly deleted: number;
}

/**
 * Runs `window(after)` (one transaction over the next window of ids after
 * `after`) from the start of the table until a window comes back short or
 * with nothing older than the cut: ids follow arrival, so the old rows are
 * a prefix. `between` runs between windows (SQLite: a turn of the event
 * loop). Returns the rows deleted.
 */
export async function pruneByWindows(window: (after: number) => Promise<PruneWindow | null>, between?: () => Promise<void>): Promise<number> {
  let after = 0;
  let deleted = 0;
  for (;;) {
    const step = await window(after);
    if (step === null) return deleted;
    deleted += step.deleted;
    after = step.last;
    if (!step.old || !step.full) return deleted;
    await between?.();
  }
}
