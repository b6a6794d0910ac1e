/**
 * An IMA measurement list could not be parsed. `offset` is the byte offset in
 * the list and `entryIndex` the 0-based entry (for the ASCII form, the line
 * number minus one).
 */
export class ImaParseError extends Error {
  constructor(
    readonly offset: number,
    readonly entryIndex: number,
    readonly reason: string,
  ) {
    super(`IMA log: entry ${entryIndex} at byte ${offset}: ${reason}`);
    this.name = 'ImaParseError';
  }
}
