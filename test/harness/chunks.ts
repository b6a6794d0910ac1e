/**
 * `stream` cut at `cuts` (each taken modulo its length + 1, duplicates
 * dropped, in order) into the chunks a socket might deliver: for property
 * tests of incremental parsers, which must give the same frames however the
 * reads fall.
 */
export function chunksAt<T extends Uint8Array>(stream: T, cuts: readonly number[]): T[] {
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const out: T[] = [];
  let from = 0;
  // subarray keeps the kind: a Buffer's pieces are Buffers.
  for (const p of points) {
    out.push(stream.subarray(from, p) as T);
    from = p;
  }
  out.push(stream.subarray(from) as T);
  return out;
}
