import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError, TOPIC_ROOT, isBootstrapId, isDeviceId, parseTopic, serverFilters, sharedFilter, topics } from '../src/index.js';

const deviceIdArb = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,62}$/);
const bootstrapIdArb = fc.stringMatching(/^[0-9a-f]{64}$/);

describe('topics', () => {
  it('every builder round-trips through parseTopic (property)', () => {
    fc.assert(
      fc.property(deviceIdArb, bootstrapIdArb, (deviceId, bootstrapId) => {
        expect(parseTopic(topics.enrollRequest(bootstrapId))).toEqual({ kind: 'enroll-request', bootstrapId });
        expect(parseTopic(topics.enrollChallenge(bootstrapId))).toEqual({ kind: 'enroll-challenge', bootstrapId });
        expect(parseTopic(topics.enrollProof(bootstrapId))).toEqual({ kind: 'enroll-proof', bootstrapId });
        expect(parseTopic(topics.enrollResult(bootstrapId))).toEqual({ kind: 'enroll-result', bootstrapId });
        expect(parseTopic(topics.deviceChallenge(deviceId))).toEqual({ kind: 'device-challenge', deviceId });
        expect(parseTopic(topics.deviceChallengeRequest(deviceId))).toEqual({ kind: 'device-challenge-request', deviceId });
        expect(parseTopic(topics.deviceEvidence(deviceId))).toEqual({ kind: 'device-evidence', deviceId });
        expect(parseTopic(topics.deviceResult(deviceId))).toEqual({ kind: 'device-result', deviceId });
      }),
    );
    expect(parseTopic(topics.fleetRevocations)).toEqual({ kind: 'fleet-revocations' });
  });

  it('the topic names are the documented ones', () => {
    const b = 'ab'.repeat(32);
    expect(topics.enrollRequest(b)).toBe(`vigil/v1/enroll/${b}/request`);
    expect(topics.deviceChallengeRequest('cam-1')).toBe('vigil/v1/devices/cam-1/challenge/request');
    expect(topics.fleetRevocations).toBe('vigil/v1/fleet/revocations');
    expect(serverFilters.evidence).toBe('vigil/v1/devices/+/evidence');
    expect(sharedFilter('verifiers', serverFilters.evidence)).toBe('$share/verifiers/vigil/v1/devices/+/evidence');
  });

  it('builders refuse ids that could inject levels or wildcards', () => {
    for (const bad of ['', 'a/b', '+', '#', 'a+', 'a#', '$SYS', 'a\u0000b', 'Cam-1', ' a', 'a b', '-a', '.a', 'x'.repeat(64)]) {
      expect(() => topics.deviceEvidence(bad)).toThrowError(ProtocolError);
      expect(isDeviceId(bad)).toBe(false);
    }
    for (const bad of ['AB'.repeat(32), 'ab'.repeat(31), 'ab'.repeat(33), 'g'.repeat(64)]) {
      expect(() => topics.enrollProof(bad)).toThrowError(/not a bootstrap id/);
      expect(isBootstrapId(bad)).toBe(false);
    }
    expect(() => sharedFilter('a/b', serverFilters.evidence)).toThrowError(ProtocolError);
  });

  it('parseTopic refuses anything that is not exactly a Vigil topic', () => {
    const b = 'cd'.repeat(32);
    for (const t of [
      'vigil/v1/devices/+/evidence',
      'vigil/v1/devices/#',
      'vigil/v1/devices/cam-1/evidence/',
      'vigil/v1/devices/cam-1/evidence/x',
      'vigil/v1/devices//evidence',
      'vigil/v1/devices/cam-1/challenge/response',
      'vigil/v1/devices/cam-1/request',
      'vigil/v1/devices/cam-1',
      'vigil/v2/devices/cam-1/evidence',
      '/vigil/v1/devices/cam-1/evidence',
      `vigil/v1/enroll/${b}/evidence`,
      `vigil/v1/enroll/${b}`,
      `vigil/v1/enroll/${b.toUpperCase()}/request`,
      'vigil/v1/fleet/revocations/x',
      'vigil/v1/fleet',
      'vigil/v1/devices/constructor/evidence/x',
      'vigil/v1/enroll/' + b + '/__proto__',
      'vigil/v1/devices/cam-1/__proto__',
      '$SYS/broker/uptime',
      '',
    ]) {
      expect(parseTopic(t), t).toBeNull();
    }
  });

  it('parseTopic never throws, and whatever it accepts rebuilds to the same topic (property)', () => {
    const level = fc.oneof(fc.constantFrom('vigil', 'v1', 'devices', 'enroll', 'fleet', 'revocations', 'evidence', 'challenge', 'request', 'result', 'proof', '+', '#', '', 'cam-1', 'ab'.repeat(32)), fc.string({ maxLength: 8 }));
    fc.assert(
      fc.property(fc.array(level, { maxLength: 7 }), (levels) => {
        const topic = levels.join('/');
        const parsed = parseTopic(topic);
        if (parsed === null) return;
        expect(topic.startsWith(TOPIC_ROOT + '/')).toBe(true);
        const rebuilt =
          parsed.kind === 'fleet-revocations'
            ? topics.fleetRevocations
            : 'deviceId' in parsed
              ? { 'device-challenge': topics.deviceChallenge, 'device-challenge-request': topics.deviceChallengeRequest, 'device-evidence': topics.deviceEvidence, 'device-result': topics.deviceResult }[parsed.kind](parsed.deviceId)
              : { 'enroll-request': topics.enrollRequest, 'enroll-challenge': topics.enrollChallenge, 'enroll-proof': topics.enrollProof, 'enroll-result': topics.enrollResult }[parsed.kind](parsed.bootstrapId);
        expect(rebuilt).toBe(topic);
      }),
      { numRuns: 2000 },
    );
  });
});
