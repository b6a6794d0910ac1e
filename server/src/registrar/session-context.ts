import { DEVICE_ID_PATTERN, DeviceFacts } from '@vigil/protocol';
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import type { JsonObject } from '../store/index.js';

const Hex = (maxBytes: number) => Type.String({ pattern: '^(?:[0-9a-f]{2})+$', maxLength: maxBytes * 2 });
const Base64 = (maxBytes: number) => Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$', maxLength: Math.ceil(maxBytes / 3) * 4 });

/**
 * What the registrar keeps in the store between the challenge and the
 * proof (the session's `context`): everything checked at request time, so
 * the proof step trusts nothing the device sends then but the proof itself.
 * Kept in the store, not in memory, so any server replica can take the proof.
 */
export const SessionContext = Type.Object(
  {
    v: Type.Literal(1),
    /** SHA-256 of the token presented; `enrollDevice` consumes one of its uses. */
    tokenHash: Hex(32),
    deviceId: Type.String({ pattern: DEVICE_ID_PATTERN, maxLength: 63 }),
    /** True when the EK belongs to an enrolled device whose re-enrollment an administrator allowed. */
    reenroll: Type.Boolean(),
    /** True when this client's enrollment already completed and only its result was lost (see `resumableCertificate`). */
    resume: Type.Optional(Type.Boolean()),
    ekPublic: Base64(1024),
    ekName: Hex(66),
    ekCertificate: Type.Union([Base64(8192), Type.Null()]),
    akPublic: Base64(1024),
    akName: Hex(66),
    facts: DeviceFacts,
  },
  { additionalProperties: false },
);
export type SessionContext = Static<typeof SessionContext>;

const validator = Compile(SessionContext);

export function sessionContextToJson(context: SessionContext): JsonObject {
  return { ...context, facts: { ...context.facts, tpm: { ...context.facts.tpm } } };
}

/** The stored context, checked again: a row edited behind the server's back is refused, not trusted. */
export function sessionContextFromJson(json: JsonObject): SessionContext | undefined {
  return validator.Check(json) ? json : undefined;
}
