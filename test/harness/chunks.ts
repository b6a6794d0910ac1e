/**
 * `stream` cut at `cuts` (each taken modulo its length + 1, duplicates
 * dropped, in order) into the chunks a socket might deliver: for property
 * tests of incremental parsers, which must give the same frames however the
 * reads fall.
 */
export function chunksAt(stream: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(stream.subarray(from, p));
    from = p;
  }
  out.push(stream.subarray(from));
  return out;
}
