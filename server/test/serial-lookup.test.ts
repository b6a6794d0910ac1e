/**
 * serialLookup (server/src/webhook/serial-lookup.ts): name lookups for
 * webhook calls run one at a time, so a resolver that hangs holds at most
 * one libuv pool thread. The ordering logic is checked with a stand-in
 * resolver whose answers the test releases by hand; dns.lookup itself with
 * `localhost`.
 */
import { lookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { serialLookup, type Lookup } from '../src/webhook/serial-lookup.js';

interface Pending {
  readonly hostname: string;
  answer(err: NodeJS.ErrnoException | null, address: string, family: number): void;
}

/** A resolver that answers only when told, recording how many lookups it had at once. */
function heldResolver(): { resolve: Lookup; pending: Pending[]; maxAtOnce: () => number } {
  const pending: Pending[] = [];
  let atOnce = 0;
  let max = 0;
  const resolve: Lookup = (hostname, _options, callback) => {
    atOnce++;
    max = Math.max(max, atOnce);
    pending.push({
      hostname,
      answer: (err, address, family) => {
        atOnce--;
        callback(err, address, family);
      },
    });
  };
  return { resolve, pending, maxAtOnce: () => max };
}

const tick = () => new Promise<void>((r) => setTimeout(r, 0));

describe('serialLookup', () => {
  it('runs one lookup at a time, in order, and passes each answer through', async () => {
    const r = heldResolver();
    const look = serialLookup(r.resolve);
    const got: Array<[string, NodeJS.ErrnoException | null, string | LookupAddress[], number | undefined]> = [];
    for (const host of ['a.example', 'b.example', 'c.example', 'd.example']) {
      look(host, {}, (err, address, family) => got.push([host, err, address, family]));
    }
    // Only the first is with the resolver; the others wait.
    expect(r.pending.map((p) => p.hostname)).toEqual(['a.example']);
    r.pending.shift()!.answer(null, '192.0.2.1', 4);
    await tick();
    expect(r.pending.map((p) => p.hostname)).toEqual(['b.example']);
    const failure = Object.assign(new Error('getaddrinfo EAI_AGAIN b.example'), { code: 'EAI_AGAIN' });
    r.pending.shift()!.answer(failure, '', 0);
    await tick();
    r.pending.shift()!.answer(null, '2001:db8::1', 6);
    await tick();
    r.pending.shift()!.answer(null, '192.0.2.4', 4);
    await tick();
    expect(r.maxAtOnce()).toBe(1);
    expect(got).toEqual([
      ['a.example', null, '192.0.2.1', 4],
      ['b.example', failure, '', 0],
      ['c.example', null, '2001:db8::1', 6],
      ['d.example', null, '192.0.2.4', 4],
    ]);
  });

  it('a resolver that throws at once answers with the error, and the queue goes on', async () => {
    let calls = 0;
    const look = serialLookup((hostname, _options, callback) => {
      calls++;
      if (hostname === 'bad') throw new TypeError('The "family" argument must be one of 0, 4, 6');
      callback(null, '192.0.2.9', 4);
    });
    const errors: Array<string | undefined> = [];
    look('bad', {}, (err) => errors.push(err?.message));
    await new Promise<void>((done) => look('good.example', {}, (err, address) => (errors.push(err?.message ?? String(address)), done())));
    expect(calls).toBe(2);
    expect(errors).toEqual(['The "family" argument must be one of 0, 4, 6', '192.0.2.9']);
  });

  it('a callback that throws does not stall the lookups behind it', async () => {
    const r = heldResolver();
    const look = serialLookup(r.resolve);
    look('first.example', {}, () => {
      throw new Error('handler bug');
    });
    const second = new Promise<string>((done) => look('second.example', {}, (_err, address) => done(String(address))));
    expect(() => r.pending.shift()!.answer(null, '192.0.2.1', 4)).toThrow('handler bug');
    await tick();
    r.pending.shift()!.answer(null, '192.0.2.2', 4);
    await expect(second).resolves.toBe('192.0.2.2');
  });

  it('answers as dns.lookup does (localhost)', async () => {
    const options: LookupOptions = { all: true };
    const expected = await new Promise<LookupAddress[]>((done, fail) => lookup('localhost', options, (err, a) => (err ? fail(err) : done(a as LookupAddress[]))));
    const got = await new Promise<LookupAddress[]>((done, fail) => serialLookup()('localhost', options, (err, a) => (err ? fail(err) : done(a as LookupAddress[]))));
    expect(got).toEqual(expected);
    expect(got.length).toBeGreaterThan(0);
  });
});
