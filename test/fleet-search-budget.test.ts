/**
 * The fleet benchmark's largest-fleet search gets what is left of the run's
 * 14-minute mark (bench/src/fleet-scale.ts, `searchBudgetMs`), so a slow
 * setup (registration took 21-43 s on the same machine) cannot push the
 * whole benchmark past the 15 minutes.
 */
import { describe, expect, it } from 'vitest';
import { searchBudgetMs } from '../bench/src/fleet-scale.js';

const MIN = 60_000;

describe('searchBudgetMs', () => {
  it('gives the requested budget when the run has time for it', () => {
    expect(searchBudgetMs(60_000, 11 * MIN)).toBe(60_000);
  });

  it('cuts it to what is left before 14 minutes, less 45 s to stop the fleet', () => {
    expect(searchBudgetMs(60_000, 12.5 * MIN)).toBe(14 * MIN - 45_000 - 12.5 * MIN);
  });

  it('gives nothing once the mark is reached or passed', () => {
    expect(searchBudgetMs(60_000, 14 * MIN - 45_000)).toBe(0);
    expect(searchBudgetMs(60_000, 15 * MIN)).toBe(0);
  });
});
