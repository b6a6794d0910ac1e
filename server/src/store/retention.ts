/**
 * How long challenges, challenge uses and enrollment sessions are kept after
 * they expired; then `Store.pruneExpired` may delete them (the registrar's
 * hourly housekeeping does). The verifier relies on it: a sealed challenge
 * that expired longer ago than this may have lost its use record, so an
 * answer to it is refused as unknown, as a pruned stored challenge was.
 */
export const EXPIRED_KEPT_MS = 24 * 60 * 60_000;

/**
 * Rows a prune deletes per transaction (`pruneExpired`'s challenge uses,
 * `pruneAttestations`): on SQLite a few milliseconds of the event loop
 * each, with a turn of the loop between slices.
 */
export const PRUNE_SLICE = 2000;
