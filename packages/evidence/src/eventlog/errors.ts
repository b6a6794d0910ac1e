/**
 * A TCG event log could not be parsed. `offset` is the byte offset in the log
 * where the problem was found and `eventIndex` the 0-based number of the event
 * being read (the Spec ID header of a crypto-agile log is event 0).
 */
export class EventLogParseError extends Error {
  constructor(
    readonly offset: number,
    readonly eventIndex: number,
    readonly reason: string,
  ) {
    super(`event log: event ${eventIndex} at byte ${offset}: ${reason}`);
    this.name = 'EventLogParseError';
  }
}
