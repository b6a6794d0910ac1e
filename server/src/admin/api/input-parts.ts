import Type, { type TObject, type TSchema } from 'typebox';
import type { Operation } from '../operations/operation.js';

/** An operation's input split into the parts of an HTTP request, each a closed JSON Schema object. */
export interface InputParts {
  readonly params: TObject | undefined;
  readonly querystring: TObject | undefined;
  readonly body: TObject | undefined;
}

/**
 * Path parameters go in `params`; the other properties in `querystring`
 * (GET/DELETE) or `body`. Each part keeps its properties' schemas, defaults
 * and descriptions, so fastify validates each part and @fastify/swagger
 * documents it, from the one input schema.
 */
export function inputParts(op: Operation): InputParts {
  const properties = op.input.properties as Readonly<Record<string, TSchema>>;
  // Type.Object (not a literal): the property schemas carry TypeBox's optional marks, which decide `required`.
  const pick = (keys: readonly string[]): TObject => Type.Object(Object.fromEntries(keys.map((k) => [k, properties[k]!])), { additionalProperties: false });
  const rest = Object.keys(properties).filter((k) => !op.pathParams.includes(k));
  const inQuery = op.method === 'GET' || op.method === 'DELETE';
  return {
    params: op.pathParams.length > 0 ? pick(op.pathParams) : undefined,
    querystring: inQuery ? pick(rest) : undefined,
    body: inQuery ? undefined : pick(rest),
  };
}
