/**
 * Golden-value policies: the document schema, the PCR selection it implies,
 * the boot and model appraisal, capture from a device's verified state,
 * import from tpm2_eventlog (run here as an independent peer on a real log)
 * and from a replay, and the diff.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { replayEventLog, replayToJson } from '@vigil/evidence';
import { appraiseBoot } from '../src/policy/appraise/boot.js';
import { appraiseModels } from '../src/policy/appraise/models.js';
import { captureGoldenValues } from '../src/policy/capture.js';
import { defaultPcrSelection, effectiveSelection } from '../src/policy/defaults.js';
import { diffPolicies } from '../src/policy/diff.js';
import { PolicyError } from '../src/policy/errors.js';
import type { AppraisalFacts, BootLogFacts } from '../src/policy/facts.js';
import { policyFromReplay } from '../src/policy/import/replay.js';
import { policyFromTpm2Eventlog } from '../src/policy/import/tpm2-eventlog.js';
import { parsePolicyDocument } from '../src/policy/parse.js';
import { PreparedPolicy } from '../src/policy/prepared-policy.js';
import type { DeviceLogState } from '../src/store/index.js';
import { analyseBootLog } from '../src/verifier/logs/boot-log.js';

const run = promisify(execFile);
const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures', 'eventlogs');
const GCE = join(FIXTURES, 'go-attestation-ubuntu-2104-gce.bin');
const h = (c: string) => c.repeat(64);

function prepared(doc: unknown): PreparedPolicy {
  return new PreparedPolicy('p', 1, parsePolicyDocument(doc));
}

async function gceFacts(): Promise<BootLogFacts> {
  return (await analyseBootLog(await readFile(GCE), h('0'))).facts;
}

describe('the policy document', () => {
  it('accepts a full document and names the first bad field of a broken one', () => {
    const doc = {
      v: 1,
      pcrSelection: { sha256: [0, 7, 13] },
      pcrs: { sha256: { '7': [h('a')] }, sha1: { '0': ['b'.repeat(40)] } },
      eventLog: { bootApplications: [h('c')], secureBoot: { required: true, db: [h('d')], dbxMustContain: [h('e')] } },
      models: { pcr: 13, allowed: { 'resnet.onnx': [h('f')] } },
      onFailure: { os: 'warning' },
    };
    expect(parsePolicyDocument(doc)).toEqual(doc);
    const bad = (d: unknown) => {
      try {
        parsePolicyDocument(d);
      } catch (err) {
        return err instanceof PolicyError ? { code: err.code, path: err.path } : err;
      }
      return 'accepted';
    };
    expect(bad({ v: 1, pcrz: {} })).toEqual({ code: 'invalid-policy', path: '' });
    expect(bad({ v: 1, pcrs: { sha256: { '7': ['xyz'] } } })).toMatchObject({ path: '/pcrs/sha256/7/0' });
    expect(bad({ v: 1, pcrs: { sha256: { '24': [h('a')] } } })).toMatchObject({ code: 'invalid-policy' });
    expect(bad({ v: 1, models: { pcr: 16 } })).toMatchObject({ path: '/models/pcr' });
    expect(bad({ v: 2 })).toMatchObject({ path: '/v' });
    expect(bad({ v: 1, onFailure: { identity: 'warning' } })).toMatchObject({ code: 'invalid-policy' });
  });

  it('selects the default PCRs without a policy, and adds every PCR a policy has golden values for and its model PCR', () => {
    expect(effectiveSelection(undefined)).toEqual(defaultPcrSelection());
    expect(defaultPcrSelection().sha256).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14]);
    expect(effectiveSelection(parsePolicyDocument({ v: 1, pcrSelection: { sha256: [0] }, pcrs: { sha1: { '4': ['a'.repeat(40)] } }, models: { pcr: 12 } }))).toEqual({
      sha1: [4],
      sha256: [0, 12],
    });
  });
});

describe('boot appraisal', () => {
  const quoted: AppraisalFacts['quoted'] = { sha256: { '7': h('7'), '4': h('4') } };

  it('golden PCR values, boot applications, secure boot and its databases: one reason per divergence', async () => {
    const facts = await gceFacts();
    expect(facts.secureBoot.enabled).toBe(false);
    const app = facts.applications[0]!.digests.find((d) => d.length === 64)!;
    const ok = appraiseBoot(prepared({ v: 1, pcrs: { sha256: { '7': [h('7')] } }, eventLog: { bootApplications: facts.applications.map((a) => a.digests[1]!) } }), { quoted, bootLog: facts, models: [] });
    expect(ok).toEqual([]);
    const reasons = appraiseBoot(
      prepared({
        v: 1,
        pcrs: { sha256: { '7': [h('8')], '9': [h('9')] } },
        eventLog: { bootApplications: [app], secureBoot: { required: true, dbxMustContain: [h('e')] } },
      }),
      { quoted, bootLog: facts, models: [] },
    );
    expect(reasons.map((r) => r.code)).toEqual(['pcr-value-not-allowed', 'pcr-not-quoted', 'boot-application-not-allowed', 'secure-boot-off', 'dbx-entry-missing']);
    expect(reasons[0]!.where).toMatchObject({ bank: 'sha256', pcr: 7, expected: h('8'), actual: h('7') });
    expect(reasons[2]!.where?.event).toBe(facts.applications[1]!.event);
  });

  it('reference values need a boot event log to check against', () => {
    expect(appraiseBoot(prepared({ v: 1, eventLog: { secureBoot: { required: false } } }), { quoted, bootLog: null, models: [] }).map((r) => r.code)).toEqual(['event-log-missing']);
  });

  it('signature databases: every measured entry must be allowed, and an unmeasured one is a finding', async () => {
    const facts = await gceFacts();
    const measured = facts.secureBoot.db.measured ? facts.secureBoot.db.entries : [];
    const reasons = appraiseBoot(prepared({ v: 1, eventLog: { secureBoot: { db: [], pk: [h('1')] } } }), { quoted, bootLog: facts, models: [] });
    expect(reasons.filter((r) => r.code === 'secure-boot-database-entry-not-allowed')).toHaveLength(measured.length + (facts.secureBoot.pk.measured ? facts.secureBoot.pk.entries.length : 0));
    if (!facts.secureBoot.pk.measured) expect(reasons.map((r) => r.code)).toContain('secure-boot-database-not-measured');
  });
});

describe('model appraisal', () => {
  const m = (entry: number, path: string, digest: string) => ({ entry, path, digest });

  it('with no allowlist anywhere it does not appraise; otherwise by path, then by file name, else unknown', () => {
    expect(appraiseModels(PreparedPolicy.none, [m(0, '/a', h('a'))], new Map())).toEqual({ appraised: false, reasons: [] });
    const policy = prepared({ v: 1, models: { allowed: { '/opt/x.onnx': [h('a')], 'y.onnx': [h('b')] } } });
    const fleet = new Map([['z.onnx', new Set([h('c')])]]);
    const result = appraiseModels(policy, [m(0, '/opt/x.onnx', h('a')), m(1, '/srv/y.onnx', h('b')), m(2, '/z.onnx', h('c')), m(3, '/opt/x.onnx', h('9')), m(4, '/unlisted', h('a'))], fleet);
    expect(result.appraised).toBe(true);
    expect(result.reasons.map((r) => [r.code, r.where?.event])).toEqual([
      ['model-digest-not-allowed', 3],
      ['model-unknown', 4],
    ]);
    // A policy can turn the fleet allowlist off.
    const own = prepared({ v: 1, models: { allowed: { 'y.onnx': [h('b')] }, fleetAllowlist: false } });
    expect(appraiseModels(own, [m(0, '/z.onnx', h('c'))], fleet).reasons.map((r) => r.code)).toEqual(['model-unknown']);
  });
});

describe('capture and import', () => {
  function state(over: Partial<DeviceLogState> = {}): DeviceLogState {
    return {
      deviceId: 'ref',
      resetCount: 3,
      bootLogDigest: h('0'),
      ima: { entries: 0, pcrs: {} },
      model: { entries: 2, pcrs: {}, measurements: [{ entry: 0, path: '/m/a.onnx', digest: h('a') }, { entry: 1, path: '/m/a.onnx', digest: h('b') }] },
      verifiedPcrs: { sha256: { '0': h('0'), '7': h('7'), '10': h('1'), '13': h('3') } },
      updatedAt: 0,
      ...over,
    };
  }

  it('captures golden values from a device’s verified state: PCRs but the runtime ones, boot applications, secure boot, latest model digests', async () => {
    const facts = await gceFacts();
    const doc = parsePolicyDocument(captureGoldenValues({ deviceId: 'ref', state: state(), bootLog: facts }));
    expect(doc.pcrs).toEqual({ sha256: { '0': [h('0')], '7': [h('7')] } });
    expect(doc.pcrSelection).toEqual({ sha256: [0, 7, 10, 13] });
    expect(doc.models).toEqual({ pcr: 13, allowed: { '/m/a.onnx': [h('b')] } });
    expect(doc.eventLog?.bootApplications).toHaveLength(2);
    expect(doc.eventLog?.secureBoot?.required).toBe(false);
    // The captured policy accepts what it was captured from.
    const p = new PreparedPolicy('c', 1, doc);
    expect(appraiseBoot(p, { quoted: state().verifiedPcrs!, bootLog: facts, models: [] })).toEqual([]);
    expect(() => captureGoldenValues({ deviceId: 'new', state: state({ verifiedPcrs: null }), bootLog: null })).toThrow(PolicyError);
  });

  it('imports the PCR values tpm2_eventlog computes for a real log (the same as an independent replay) and its boot applications', async () => {
    const { stdout } = await run('tpm2_eventlog', [GCE], { maxBuffer: 64 * 1024 * 1024 });
    const doc = parsePolicyDocument(policyFromTpm2Eventlog(stdout));
    const expected = JSON.parse(await readFile(join(FIXTURES, 'go-attestation-ubuntu-2104-gce.expected.json'), 'utf8')) as { pcrs: Record<string, Record<string, string>> };
    for (const bank of ['sha1', 'sha256', 'sha384'] as const) {
      const got = Object.fromEntries(Object.entries(doc.pcrs![bank]!).map(([k, v]) => [k, v[0]]));
      expect(got).toEqual(expected.pcrs[bank]);
    }
    const facts = await gceFacts();
    expect(doc.eventLog?.bootApplications).toEqual(facts.applications.map((a) => a.digests.find((d) => d.length === 64)));
    expect(() => policyFromTpm2Eventlog('just: text')).toThrow(PolicyError);
    expect(() => policyFromTpm2Eventlog('pcrs:\n  sha256:\n    0 : 0x1234\n')).toThrow(/not a sha256 digest/);
  });

  it('imports `vigil-agent eventlog replay --json` output', async () => {
    const replay = replayToJson(await replayEventLog(GCE));
    const doc = parsePolicyDocument(policyFromReplay(JSON.stringify(replay)));
    expect(Object.fromEntries(Object.entries(doc.pcrs!.sha256!).map(([k, v]) => [k, v[0]]))).toEqual(replay.pcrs['sha256']);
    expect(() => policyFromReplay('{"format":"sha1"}')).toThrow(PolicyError);
    expect(() => policyFromReplay('{"pcrs":{"sha256":{"0":"00"}}}')).toThrow(/not a sha256 value/);
  });
});

describe('diff', () => {
  it('names each change by JSON pointer; allowed values compare as sets', () => {
    const a = { v: 1, pcrs: { sha256: { '7': [h('a'), h('b')] } }, models: { pcr: 13 } };
    const b = { v: 1, pcrs: { sha256: { '7': [h('b'), h('c')] } }, models: { pcr: 12 }, description: 'new' };
    expect(diffPolicies(a, b)).toEqual([
      { path: '/description', kind: 'added', after: 'new' },
      { path: '/models/pcr', kind: 'changed', before: 13, after: 12 },
      { path: '/pcrs/sha256/7/-', kind: 'removed', before: h('a') },
      { path: '/pcrs/sha256/7/-', kind: 'added', after: h('c') },
    ]);
    expect(diffPolicies(a, { ...a, pcrs: { sha256: { '7': [h('b'), h('a')] } } })).toEqual([]);
  });
});
