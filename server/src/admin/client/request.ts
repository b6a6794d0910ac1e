import type { Operation } from '../operations/operation.js';

/** An operation call as HTTP: what the admin API's route for it expects. */
export interface HttpCall {
  readonly method: string;
  /** Path and query string. */
  readonly path: string;
  /** JSON body (POST/PUT/PATCH). */
  readonly body: Record<string, unknown> | undefined;
}

/**
 * Lays an operation's input out as its route expects: `:params` in the
 * path, the rest in the query string (GET/DELETE, scalars) or the JSON body.
 * Undefined values are left out (the server applies the schema's defaults).
 */
export function httpCallFor(op: Operation, input: Readonly<Record<string, unknown>>): HttpCall {
  const path = op.path.replace(/:([A-Za-z][A-Za-z0-9]*)/g, (_, p: string) => encodeURIComponent(String(input[p])));
  const rest = Object.entries(input).filter(([k, v]) => v !== undefined && !op.pathParams.includes(k));
  if (op.method === 'GET' || op.method === 'DELETE') {
    const query = new URLSearchParams(rest.map(([k, v]): [string, string] => [k, String(v)])).toString();
    return { method: op.method, path: query === '' ? path : `${path}?${query}`, body: undefined };
  }
  return { method: op.method, path, body: Object.fromEntries(rest) };
}
