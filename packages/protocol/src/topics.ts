import { ProtocolError } from './errors.js';
import { isBootstrapId, isDeviceId } from './ids.js';

/** Every Vigil topic lives under this root; the version is part of the topic so v2 can run beside v1. */
export const TOPIC_ROOT = 'vigil/v1';

/** The kinds of topic, named `<area>-<message>`. */
export type TopicKind =
  | 'enroll-request'
  | 'enroll-challenge'
  | 'enroll-proof'
  | 'enroll-result'
  | 'device-challenge'
  | 'device-challenge-request'
  | 'device-evidence'
  | 'device-result'
  | 'fleet-revocations';

export type EnrollTopicKind = Extract<TopicKind, `enroll-${string}`>;
export type DeviceTopicKind = Extract<TopicKind, `device-${string}`>;

/** A topic name taken apart; ids are syntax-checked. */
export type ParsedTopic =
  | { readonly kind: EnrollTopicKind; readonly bootstrapId: string }
  | { readonly kind: DeviceTopicKind; readonly deviceId: string }
  | { readonly kind: 'fleet-revocations' };

function checkBootstrapId(id: string): string {
  if (!isBootstrapId(id)) throw new ProtocolError('invalid-id', `not a bootstrap id: ${JSON.stringify(id)}`);
  return id;
}
function checkDeviceId(id: string): string {
  if (!isDeviceId(id)) throw new ProtocolError('invalid-id', `not a device id: ${JSON.stringify(id)}`);
  return id;
}

/**
 * Topic names. The builders refuse ids that are not syntactically valid
 * (throwing ProtocolError `invalid-id`), so no id can inject a level or a wildcard.
 */
export const topics = {
  enrollRequest: (bootstrapId: string) => `${TOPIC_ROOT}/enroll/${checkBootstrapId(bootstrapId)}/request`,
  enrollChallenge: (bootstrapId: string) => `${TOPIC_ROOT}/enroll/${checkBootstrapId(bootstrapId)}/challenge`,
  enrollProof: (bootstrapId: string) => `${TOPIC_ROOT}/enroll/${checkBootstrapId(bootstrapId)}/proof`,
  enrollResult: (bootstrapId: string) => `${TOPIC_ROOT}/enroll/${checkBootstrapId(bootstrapId)}/result`,
  deviceChallenge: (deviceId: string) => `${TOPIC_ROOT}/devices/${checkDeviceId(deviceId)}/challenge`,
  deviceChallengeRequest: (deviceId: string) => `${TOPIC_ROOT}/devices/${checkDeviceId(deviceId)}/challenge/request`,
  deviceEvidence: (deviceId: string) => `${TOPIC_ROOT}/devices/${checkDeviceId(deviceId)}/evidence`,
  deviceResult: (deviceId: string) => `${TOPIC_ROOT}/devices/${checkDeviceId(deviceId)}/result`,
  fleetRevocations: `${TOPIC_ROOT}/fleet/revocations`,
} as const;

/**
 * Subscription filters for the server side (what it consumes from all
 * clients). For replicas behind one broker, wrap them with {@link sharedFilter}.
 */
export const serverFilters = {
  enrollRequests: `${TOPIC_ROOT}/enroll/+/request`,
  enrollProofs: `${TOPIC_ROOT}/enroll/+/proof`,
  challengeRequests: `${TOPIC_ROOT}/devices/+/challenge/request`,
  evidence: `${TOPIC_ROOT}/devices/+/evidence`,
} as const;

/** An MQTT 5 shared subscription (`$share/<group>/<filter>`, MQTT 5.0 §4.8.2). */
export function sharedFilter(group: string, filter: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(group)) throw new ProtocolError('invalid-id', `not a share group name: ${JSON.stringify(group)}`);
  return `$share/${group}/${filter}`;
}

const ENROLL_KINDS: Readonly<Record<string, EnrollTopicKind>> = {
  request: 'enroll-request',
  challenge: 'enroll-challenge',
  proof: 'enroll-proof',
  result: 'enroll-result',
};
const DEVICE_KINDS: Readonly<Record<string, DeviceTopicKind>> = {
  challenge: 'device-challenge',
  evidence: 'device-evidence',
  result: 'device-result',
};

/**
 * A topic name → what it is and whose it is, or null for anything that is
 * not exactly one of Vigil's topics (including wildcards, empty levels,
 * trailing slashes and ids of the wrong syntax).
 */
export function parseTopic(topic: string): ParsedTopic | null {
  if (topic.length > 200 || !topic.startsWith(TOPIC_ROOT + '/')) return null;
  const levels = topic.slice(TOPIC_ROOT.length + 1).split('/');
  const [area, id, leaf, sub] = levels;
  switch (area) {
    case 'enroll': {
      if (levels.length !== 3 || id === undefined || leaf === undefined) return null;
      const kind = Object.hasOwn(ENROLL_KINDS, leaf) ? ENROLL_KINDS[leaf] : undefined;
      return kind !== undefined && isBootstrapId(id) ? { kind, bootstrapId: id } : null;
    }
    case 'devices': {
      if (id === undefined || leaf === undefined || !isDeviceId(id)) return null;
      if (levels.length === 4) {
        return leaf === 'challenge' && sub === 'request' ? { kind: 'device-challenge-request', deviceId: id } : null;
      }
      if (levels.length !== 3) return null;
      const kind = Object.hasOwn(DEVICE_KINDS, leaf) ? DEVICE_KINDS[leaf] : undefined;
      return kind !== undefined ? { kind, deviceId: id } : null;
    }
    case 'fleet':
      return levels.length === 2 && id === 'revocations' ? { kind: 'fleet-revocations' } : null;
    default:
      return null;
  }
}
