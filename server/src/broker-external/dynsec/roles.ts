import { serverFilters, TOPIC_ROOT, topics } from '@vigil/protocol/core';
import { REPLICA_FILTER } from '../membership.js';
import type { Acl } from './messages.js';

/**
 * The dynamic-security roles Vigil manages, and what each may do. Exact
 * topics for devices (no wildcard is ever granted to a device), patterns
 * only for the verifier. Everything not granted is denied: the plugin's
 * default for publishing and subscribing is deny (its default ACL access
 * is left as it ships: publishClientSend and subscribe false).
 */

/** Held by every verifier replica, beside the plugin's admin role that `deploy/mosquitto/dynsec-init.sh` gives it. */
export const VERIFIER_ROLE = 'vigil:verifier';
/** Held by every enrolled, unrevoked device: the fleet revocation events. */
export const DEVICES_ROLE = 'vigil:devices';
/** Role names of one device: `vigil:device:<id>` (`:` cannot occur in a device id, so no id can name another role). */
export const DEVICE_ROLE_PREFIX = 'vigil:device:';

export function deviceRole(deviceId: string): string {
  return DEVICE_ROLE_PREFIX + deviceId;
}

const allow = (acltype: Acl['acltype'], topic: string): Acl => ({ acltype, topic, allow: true });

/**
 * A device publishes only its own evidence and challenge requests and
 * subscribes only to its own challenges and results (plus the fleet
 * revocations, through DEVICES_ROLE). The topic builders refuse ids that
 * could widen a topic.
 */
export function deviceAcls(deviceId: string): Acl[] {
  return [
    allow('publishClientSend', topics.deviceEvidence(deviceId)),
    allow('publishClientSend', topics.deviceChallengeRequest(deviceId)),
    allow('subscribeLiteral', topics.deviceChallenge(deviceId)),
    allow('subscribeLiteral', topics.deviceResult(deviceId)),
  ];
}

export const DEVICES_ACLS: readonly Acl[] = [allow('subscribeLiteral', topics.fleetRevocations)];

/**
 * A verifier consumes evidence and challenge requests through a shared
 * subscription of any group (Mosquitto checks the whole `$share/<group>/...`
 * filter against the ACL), publishes challenges, results and revocation
 * events to any device, and talks to the other replicas.
 */
export const VERIFIER_ACLS: readonly Acl[] = [
  allow('subscribePattern', `$share/+/${serverFilters.evidence}`),
  allow('subscribePattern', `$share/+/${serverFilters.challengeRequests}`),
  allow('subscribePattern', REPLICA_FILTER),
  allow('publishClientSend', `${TOPIC_ROOT}/devices/+/challenge`),
  allow('publishClientSend', `${TOPIC_ROOT}/devices/+/result`),
  allow('publishClientSend', topics.fleetRevocations),
  allow('publishClientSend', REPLICA_FILTER),
];
