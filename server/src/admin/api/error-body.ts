import Type from 'typebox';
import { StoreError } from '../../store/index.js';
import { OperationError } from '../operations/errors.js';

/** Every error answer of the admin API. */
export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'invalid-input, unauthenticated, forbidden, not-found, conflict, unavailable, storage or internal' }),
    message: Type.String(),
    property: Type.Optional(Type.String({ description: 'the input at fault' })),
  },
  { additionalProperties: false },
);

/**
 * Any error as the OperationError the API answers with: the handler's own,
 * a store refusal of an argument (invalid input), fastify's request errors
 * (malformed JSON, wrong content type, body too large) keep their 4xx
 * status as invalid input; anything else is internal.
 */
export function asOperationError(err: unknown): { error: OperationError; status: number } {
  if (err instanceof OperationError) return { error: err, status: err.status };
  if (err instanceof StoreError) {
    const error = new OperationError(err.code === 'invalid-argument' ? 'invalid-input' : 'storage', err.message, { cause: err });
    return { error, status: error.status };
  }
  const status = (err as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { error: new OperationError('invalid-input', (err as Error).message, { cause: err }), status };
  }
  return { error: new OperationError('internal', 'internal error (the server log has the details)', { cause: err }), status: 500 };
}

export function errorBody(error: OperationError): { error: string; message: string; property?: string } {
  return {
    error: error.code,
    message: error.property === undefined ? error.message : `${error.property}: ${error.message}`,
    ...(error.property === undefined ? {} : { property: error.property }),
  };
}
