import Type, { type Static } from 'typebox';
import { EAR_STATUSES } from '@vigil/protocol';

/**
 * The status file the daemon keeps in its state directory (`status.json`)
 * and `vigil-agent status` reads: one TypeBox definition is the type, the
 * validator `status` checks the file with, and the documentation of its fields.
 */

const Time = Type.Integer({ minimum: 0, maximum: 8.64e15, description: 'Unix time in milliseconds' });
const Text = (maxLength: number) => Type.String({ maxLength });
const Obj = <T extends Type.TProperties>(properties: T) => Type.Object(properties, { additionalProperties: false });

export const CONNECTION_STATES = [
  /** Reading state, opening the TPM. */
  'starting',
  /** No device certificate yet: enrolling with the token. */
  'enrolling',
  /** A connection attempt is in progress. */
  'connecting',
  /** Connected and subscribed. */
  'connected',
  /** Waiting for the next reconnect attempt (see `nextAttemptAt`). */
  'disconnected',
  /** This device was revoked: the agent stopped for good (exit 6). */
  'revoked',
  /** The agent stopped (signal or error). */
  'stopped',
] as const;
export type ConnectionState = (typeof CONNECTION_STATES)[number];

export const AgentStatus = Obj({
  v: Type.Literal(1),
  pid: Type.Integer({ minimum: 1 }),
  agentVersion: Text(64),
  startedAt: Time,
  updatedAt: Time,
  server: Text(300),
  enrollment: Obj({
    enrolled: Type.Boolean(),
    deviceId: Type.Optional(Text(63)),
    certificateSerial: Type.Optional(Text(40)),
    certificateNotAfter: Type.Optional(Time),
    /** Last time the certificate was renewed by the server. */
    renewedAt: Type.Optional(Time),
  }),
  connection: Obj({
    state: Type.Enum(CONNECTION_STATES),
    since: Time,
    /** Successful connections since start. */
    connects: Type.Integer({ minimum: 0 }),
    nextAttemptAt: Type.Optional(Time),
    lastError: Type.Optional(Text(512)),
  }),
  tpm: Obj({
    uri: Text(4096),
    reachable: Type.Boolean(),
    /** When reachability or the counters last changed. */
    checkedAt: Type.Optional(Time),
    resetCount: Type.Optional(Type.Integer({ minimum: 0 })),
    restartCount: Type.Optional(Type.Integer({ minimum: 0 })),
    lastError: Type.Optional(Text(512)),
  }),
  models: Obj({
    pcr: Type.Integer({ minimum: 0, maximum: 23 }),
    /** Model files currently known (measured or waiting). */
    files: Type.Integer({ minimum: 0 }),
    /** Changed files waiting to be re-measured. */
    pending: Type.Integer({ minimum: 0 }),
    measuredAt: Type.Optional(Time),
    lastError: Type.Optional(Text(512)),
  }),
  lastChallenge: Type.Optional(
    Obj({
      challengeId: Text(64),
      receivedAt: Time,
      expiresAt: Time,
      answeredAt: Type.Optional(Time),
    }),
  ),
  /** When the server's next scheduled challenge is expected, from the intervals seen so far. */
  nextChallengeExpectedAt: Type.Optional(Time),
  lastVerdict: Type.Optional(
    Obj({
      /** The overall EAR status, or `error` when the server could not appraise the evidence. */
      status: Type.Enum([...EAR_STATUSES, 'error'] as const),
      at: Time,
      challengeId: Type.Optional(Text(64)),
      /** Reason codes of the verdict or the error name. */
      reasons: Type.Array(Text(128), { maxItems: 32 }),
    }),
  ),
  revoked: Type.Optional(
    Obj({
      at: Time,
      reason: Text(512),
      /** How the agent learned it: a result, a signed fleet revocation event, or the server refusing the connection. */
      source: Type.Union([Type.Literal('result'), Type.Literal('fleet-event'), Type.Literal('connection-refused')]),
    }),
  ),
  stopped: Type.Optional(Obj({ at: Time, exitCode: Type.Integer({ minimum: 0, maximum: 255 }), reason: Text(512) })),
});
export type AgentStatus = Static<typeof AgentStatus>;
