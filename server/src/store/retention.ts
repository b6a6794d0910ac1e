/**
 * How long challenges, challenge uses and enrollment sessions are kept after
 * they expired; then `Store.pruneExpired` may delete them (the registrar's
 * hourly housekeeping does). The verifier relies on it: a sealed challenge
 * that expired longer ago than this may have lost its use record, so an
 * answer to it is refused as unknown, as a pruned stored challenge was.
 */
export const EXPIRED_KEPT_MS = 24 * 60 * 60_000;

/**
 * Rows a prune deletes per transaction, with a turn of SQLite's event loop
 * between slices: a few milliseconds each (`npm run bench -- prune`).
 * Challenge uses are small rows in one B-tree; an attestation is ~1 KB
 * with an index entry, about ten times the work a row (2,000 a slice held
 * the loop up to 52 ms).
 */
export const PRUNE_SLICE = 2000;
export const ATTESTATION_PRUNE_SLICE = 250;
