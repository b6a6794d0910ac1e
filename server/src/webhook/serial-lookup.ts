import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';

/** dns.lookup's callback, both forms (one address, or all of them). */
type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A name lookup as node:net / node:http's `lookup` option takes it: dns.lookup, this module's serial one, a unit test's stand-in. */
export type Lookup = (hostname: string, options: LookupOptions, callback: LookupCallback) => void;

/**
 * A `lookup` for outgoing connections that runs name lookups one at a
 * time. dns.lookup is getaddrinfo(3) on libuv's thread pool (one thread
 * per core and at least 2 under `vigil-server`, ../threadpool.cts), the pool
 * the verifier's signature checks run on: a resolver
 * that does not answer holds a pool thread for its whole timeout (5 s per
 * try by default), and the webhook dispatcher has 4 deliveries in flight,
 * enough to take every pool thread and stop every signature check. One
 * lookup at a time: at most one pool thread ever waits on the resolver.
 * Lookups wait their turn in order; each is answered as dns.lookup answers it.
 */
export function serialLookup(resolve: Lookup = dnsLookup as Lookup): Lookup {
  const waiting: Array<() => void> = [];
  let busy = false;
  const next = (): void => {
    const run = waiting.shift();
    if (run === undefined) busy = false;
    else run();
  };
  return (hostname, options, callback) => {
    const run = (): void => {
      busy = true;
      let answered = false;
      const answer: LookupCallback = (err, address, family) => {
        if (answered) return;
        answered = true;
        // The next lookup starts before this answer is handled, so a throwing callback cannot stall the queue.
        queueMicrotask(next);
        callback(err, address, family);
      };
      try {
        resolve(hostname, options, answer);
      } catch (err) {
        // dns.lookup throws at once on arguments it refuses (e.g. a bad `family`).
        answer(err as NodeJS.ErrnoException, '', 0);
      }
    };
    if (busy) waiting.push(run);
    else run();
  };
}
