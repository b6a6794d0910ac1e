import type { Actor, EpochMs, JsonValue } from './common.js';

/** One version of a named policy. The document's format belongs to the verifier; the store keeps it as JSON. */
export interface PolicyRecord {
  readonly name: string;
  /** 1, 2, 3, ... per name. Versions are immutable. */
  readonly version: number;
  readonly document: JsonValue;
  /** Lowercase hex SHA-256 of the document's canonical JSON: equal documents, equal digests. */
  readonly digest: string;
  readonly createdAt: EpochMs;
  readonly createdBy: Actor;
}

export interface NewPolicyVersion {
  readonly name: string;
  readonly document: JsonValue;
  readonly actor: Actor;
}

/** Who a policy applies to. A device's own assignment wins over its group's, which wins over the fleet's. */
export type PolicyTarget =
  | { readonly kind: 'device'; readonly deviceId: string }
  | { readonly kind: 'group'; readonly group: string }
  | { readonly kind: 'all' };

export interface PolicyAssignment {
  readonly target: PolicyTarget;
  readonly policyName: string;
  /** A pinned version, or null to follow the latest version. */
  readonly policyVersion: number | null;
  readonly assignedAt: EpochMs;
  readonly assignedBy: Actor;
}

export interface AssignPolicyInput {
  readonly target: PolicyTarget;
  readonly policyName: string;
  readonly policyVersion?: number | null;
  readonly actor: Actor;
}

export type AssignPolicyResult =
  | { readonly ok: true; readonly assignment: PolicyAssignment }
  | { readonly ok: false; readonly reason: 'unknown-policy' | 'unknown-version' | 'unknown-device' };

/** The policy that applies to a device, and the assignment that chose it. */
export interface ResolvedPolicy {
  readonly policy: PolicyRecord;
  readonly assignment: PolicyAssignment;
}
