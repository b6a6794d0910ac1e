import type { ClientIdentity } from './identity.js';
import { topics as t } from '@vigil/protocol';

/**
 * What one client may do, as exact topic names. Wildcards are never granted:
 * a client subscribes to each of its own topics by name, so no filter (`#`,
 * `+/...`, `vigil/v1/devices/+/...`, `$SYS/#`, `$share/...`) can ever reach
 * another client's messages, and every check is one hash lookup on the hot path.
 *
 * - device <id>: publishes its evidence and challenge requests; subscribes to
 *   its challenges, its results and the fleet revocation feed.
 * - bootstrap <bid>: publishes its enrollment request and proof; subscribes to
 *   its enrollment challenge and result.
 */
export interface AccessPolicy {
  readonly publish: ReadonlySet<string>;
  readonly subscribe: ReadonlySet<string>;
}

export function accessPolicyFor(identity: ClientIdentity): AccessPolicy {
  if (identity.kind === 'device') {
    const id = identity.deviceId;
    return {
      publish: new Set([t.deviceEvidence(id), t.deviceChallengeRequest(id)]),
      subscribe: new Set([t.deviceChallenge(id), t.deviceResult(id), t.fleetRevocations]),
    };
  }
  const id = identity.bootstrapId;
  return {
    publish: new Set([t.enrollRequest(id), t.enrollProof(id)]),
    subscribe: new Set([t.enrollChallenge(id), t.enrollResult(id)]),
  };
}
