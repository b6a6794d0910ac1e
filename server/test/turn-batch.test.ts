/**
 * TurnBatch (server/src/verifier/queue/turn-batch.ts), how the verifier
 * hands over the challenges asked for in one turn of the event loop, as
 * pure logic on the real event loop: nothing runs before the turn ends,
 * everything asked in it runs together and in order, later turns make their
 * own batches, and a closed batch drops what waits.
 */
import { stat } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TurnBatch } from '../src/verifier/queue/turn-batch.js';

const endOfTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const unexpected = (err: unknown): never => {
  throw new Error(`onError called: ${String(err)}`);
};

function recorder(): { batch: TurnBatch<string>; runs: string[][] } {
  const runs: string[][] = [];
  return { batch: new TurnBatch<string>((items) => runs.push([...items]), unexpected), runs };
}

describe('TurnBatch', () => {
  it('hands the items of one turn over together, in arrival order, once the turn ends', async () => {
    const { batch, runs } = recorder();
    batch.add('a');
    batch.add('b');
    batch.add('c');
    expect(runs).toEqual([]);
    expect(batch.size).toBe(3);
    await endOfTurn();
    expect(runs).toEqual([['a', 'b', 'c']]);
    expect(batch.size).toBe(0);
  });

  it('added from an I/O callback, as the broker\'s message handlers do, runs in that same turn: before a timer due at once', async () => {
    const order: string[] = [];
    const batch = new TurnBatch<string>((items) => order.push(`batch ${items.join(',')}`), unexpected);
    await new Promise<void>((resolve, reject) =>
      // A file system callback runs in the poll phase, where the broker's socket reads are handled.
      stat('.', (err) => {
        if (err) return reject(err);
        setTimeout(() => {
          order.push('timer');
          resolve();
        }, 0);
        batch.add('x');
        batch.add('y');
      }),
    );
    expect(order).toEqual(['batch x,y', 'timer']);
  });

  it('items added while a batch runs, or in a later turn, make a batch of their own', async () => {
    const runs: string[][] = [];
    const batch: TurnBatch<string> = new TurnBatch<string>((items) => {
      runs.push([...items]);
      if (items[0] === 'a') batch.add('from-run');
    }, unexpected);
    batch.add('a');
    await endOfTurn();
    batch.add('b');
    await endOfTurn();
    await endOfTurn();
    expect(runs).toEqual([['a'], ['from-run', 'b']]);
  });

  it('close drops the items waiting and ignores later ones', async () => {
    const { batch, runs } = recorder();
    batch.add('a');
    batch.close();
    batch.add('b');
    expect(batch.size).toBe(0);
    await endOfTurn();
    await endOfTurn();
    expect(runs).toEqual([]);
  });

  it('a run that throws reports to onError, and the next turns are handed over as before', async () => {
    const runs: string[][] = [];
    const errors: unknown[] = [];
    const batch = new TurnBatch<string>(
      (items) => {
        runs.push([...items]);
        if (items.includes('bad')) throw new Error('run failed');
      },
      (err) => errors.push(err),
    );
    batch.add('bad');
    await endOfTurn();
    batch.add('good');
    await endOfTurn();
    expect(runs).toEqual([['bad'], ['good']]);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('run failed');
  });
});
