import { describe, expect, it } from 'vitest';
import { EnrollmentDeadline } from '../src/enroll/deadline.js';
import { EnrollmentError } from '../src/enroll/errors.js';

const never = new Promise<never>(() => undefined);

describe('EnrollmentDeadline', () => {
  it('passes the work through while there is time', async () => {
    const deadline = new EnrollmentDeadline(60_000);
    try {
      expect(await deadline.race(Promise.resolve(42), 'the answer')).toBe(42);
      await expect(deadline.race(Promise.reject(new Error('boom')), 'the answer')).rejects.toThrow('boom');
      expect(deadline.over).toBe(false);
    } finally {
      deadline.dispose();
    }
  });

  it('ends a wait that never ends with a timeout naming what it waited for', async () => {
    const deadline = new EnrollmentDeadline(20);
    try {
      const err = await deadline.race(never, 'the challenge').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnrollmentError);
      expect(err).toMatchObject({ failure: 'timeout' });
      expect((err as Error).message).toContain('timed out waiting for the challenge (enrollment timeout');
      expect(deadline.over).toBe(true);
      // Every later wait fails at once, and work that fails after the deadline is not an unhandled rejection.
      await expect(deadline.race(Promise.reject(new Error('late')), 'the result')).rejects.toMatchObject({ failure: 'timeout' });
    } finally {
      deadline.dispose();
    }
  });

  it("ends a wait when the caller's signal aborts, as cancelled", async () => {
    const caller = new AbortController();
    const deadline = new EnrollmentDeadline(60_000, caller.signal);
    try {
      const waiting = deadline.race(never, "the broker's SUBACK");
      caller.abort();
      await expect(waiting).rejects.toMatchObject({ failure: 'cancelled' });
      expect(deadline.signal.aborted).toBe(true);
    } finally {
      deadline.dispose();
    }
    const already = new AbortController();
    already.abort();
    const late = new EnrollmentDeadline(60_000, already.signal);
    await expect(late.race(Promise.resolve(1), 'anything')).rejects.toMatchObject({ failure: 'cancelled' });
    late.dispose();
  });
});
