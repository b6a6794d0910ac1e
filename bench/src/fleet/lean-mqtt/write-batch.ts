/**
 * The writes of one event-loop turn, made together. A load generator's
 * devices are woken by the same poll of the sockets: each reads its packet
 * and builds its answer, and the answers are written after the poll phase,
 * back to back (one setImmediate for the whole process, not one callback per
 * connection). Signing the answers one after another and writing them one
 * after another keeps each kind of work warm in the CPU caches; on a machine
 * whose cores the server under test needs, that is most of the cost of a
 * message. A write waits at most for the rest of the turn's reads.
 */
export interface BatchedWriter {
  /** Writes what was queued this turn. */
  flushQueued(): void;
}

const waiting: BatchedWriter[] = [];
let scheduled = false;

function flushAll(): void {
  scheduled = false;
  // Writers queued while flushing (none expected: a write queues nothing) wait for the next turn.
  const n = waiting.length;
  for (let i = 0; i < n; i++) waiting[i]!.flushQueued();
  waiting.splice(0, n);
}

/** `writer` has packets queued: flush it at the end of this turn (call once per turn per writer). */
export function flushThisTurn(writer: BatchedWriter): void {
  waiting.push(writer);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushAll);
  }
}
