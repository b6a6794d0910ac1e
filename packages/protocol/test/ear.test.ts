import { describe, expect, it } from 'vitest';
import { Compile } from 'typebox/compile';
import { Ar4si, EAR_STATUSES, Ear, claimTier, overallStatus, worstStatus, type EarStatus } from '../src/index.js';
import { verdictResult } from './fixtures.js';

const checkEar = Compile(Ear);

function earWith(statuses: Partial<Record<'boot' | 'os' | 'models' | 'identity', EarStatus>>): Ear {
  const base = (verdictResult() as { verdict: Ear }).verdict;
  const submods = Object.fromEntries(Object.entries(statuses).map(([k, s]) => [k, { 'ear.status': s }]));
  return { ...base, submods };
}

describe('EAR verdicts', () => {
  it('claim tiers follow the AR4SI ranges at every boundary', () => {
    const expected: Array<[number, EarStatus]> = [
      [-128, 'contraindicated'], [-97, 'contraindicated'], [-96, 'warning'], [-33, 'warning'], [-32, 'affirming'],
      [-2, 'affirming'], [-1, 'none'], [0, 'none'], [1, 'none'], [2, 'affirming'], [31, 'affirming'],
      [32, 'warning'], [95, 'warning'], [96, 'contraindicated'], [127, 'contraindicated'],
    ];
    for (const [value, tier] of expected) expect(claimTier(value), String(value)).toBe(tier);
    expect(() => claimTier(128)).toThrowError(RangeError);
    expect(() => claimTier(1.5)).toThrowError(RangeError);
    expect(claimTier(Ar4si.executables.approvedBoot)).toBe('affirming');
    expect(claimTier(Ar4si.executables.unrecognizedRuntime)).toBe('warning');
    expect(claimTier(Ar4si.cryptoValidationFailed)).toBe('contraindicated');
  });

  it('the overall status is the worst submodule: contraindicated > warning > none > affirming', () => {
    expect(overallStatus(earWith({ boot: 'affirming', identity: 'affirming' }))).toBe('affirming');
    expect(overallStatus(earWith({ boot: 'affirming', models: 'none' }))).toBe('none');
    expect(overallStatus(earWith({ boot: 'none', os: 'warning', identity: 'affirming' }))).toBe('warning');
    expect(overallStatus(earWith({ boot: 'warning', models: 'contraindicated', identity: 'affirming' }))).toBe('contraindicated');
    // Every pair, against the rank order.
    const rank: EarStatus[] = ['affirming', 'none', 'warning', 'contraindicated'];
    for (const a of EAR_STATUSES) for (const b of EAR_STATUSES) {
      expect(worstStatus([a, b])).toBe(rank[Math.max(rank.indexOf(a), rank.indexOf(b))]);
    }
    expect(worstStatus([])).toBe('none');
  });

  it('the schema accepts a full verdict and refuses bad statuses, vectors and empty submods', () => {
    const good = (verdictResult() as { verdict: Ear }).verdict;
    expect(checkEar.Check(good)).toBe(true);
    expect(checkEar.Check({ ...good, eat_profile: 'tag:example.com,2023:other' })).toBe(false);
    expect(checkEar.Check({ ...good, submods: {} })).toBe(false);
    expect(checkEar.Check({ ...good, submods: { firmware: { 'ear.status': 'affirming' } } })).toBe(false);
    expect(checkEar.Check({ ...good, submods: { boot: { 'ear.status': 'fine' } } })).toBe(false);
    expect(checkEar.Check({ ...good, submods: { boot: { 'ear.status': 'affirming', 'ear.trustworthiness-vector': { hardware: 128 } } } })).toBe(false);
    expect(checkEar.Check({ ...good, submods: { boot: { 'ear.status': 'affirming', 'ear.trustworthiness-vector': { speed: 2 } } } })).toBe(false);
    expect(checkEar.Check({ ...good, 'vigil.device-id': 'a/b' })).toBe(false);
  });
});
