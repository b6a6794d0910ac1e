import type { Actor, EpochMs } from './common.js';

/** An AI model digest the fleet may run. A model name may have several allowed digests (versions). */
export interface AllowedModel {
  /** Model name or path, as policies and the model log refer to it. */
  readonly name: string;
  /** Lowercase hex SHA-256 of the model file. */
  readonly digest: string;
  readonly note: string | null;
  readonly addedAt: EpochMs;
  readonly addedBy: Actor;
  readonly revokedAt: EpochMs | null;
}

export interface AllowModelInput {
  readonly name: string;
  readonly digest: string;
  readonly note?: string | null;
  readonly actor: Actor;
}

export interface RevokeModelInput {
  readonly name: string;
  /** One digest, or every digest of the name when omitted. */
  readonly digest?: string;
  readonly actor: Actor;
}
