import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';

/**
 * A JSON message read off the external broker and checked against its
 * TypeBox schema (the one definition of its shape and of its TS type).
 * The size is bounded before parsing; anything that is not valid UTF-8
 * JSON matching the schema is `undefined` (the caller logs and drops it).
 */
export interface JsonMessage<T> {
  decode(payload: Uint8Array): T | undefined;
  encode(message: T): Buffer;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function jsonMessage<S extends TSchema>(schema: S, maxBytes: number): JsonMessage<Static<S>> {
  const validator = Compile(schema);
  return {
    decode(payload) {
      if (payload.byteLength > maxBytes) return undefined;
      let value: unknown;
      try {
        value = JSON.parse(utf8.decode(payload));
      } catch {
        return undefined;
      }
      return validator.Check(value) ? (value as Static<S>) : undefined;
    },
    encode(message) {
      return Buffer.from(JSON.stringify(message), 'utf8');
    },
  };
}
