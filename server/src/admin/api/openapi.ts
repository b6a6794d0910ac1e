import type { Operation } from '../operations/operation.js';

type Document = Record<string, unknown> & { paths?: Record<string, Record<string, unknown>> };

/**
 * Adds to each operation of the generated document what OpenAPI has no
 * field for: the role it needs (`x-vigil-role`) and whether the CLI can run
 * it without the server (`x-vigil-offline`).
 */
export function describeDocument(input: object, operations: readonly Operation[]): Document {
  const doc = ('openapiObject' in input ? input.openapiObject : {}) as Document;
  const byName = new Map(operations.map((op) => [op.name, op]));
  for (const methods of Object.values(doc.paths ?? {})) {
    for (const entry of Object.values(methods)) {
      const operationId = (entry as { operationId?: unknown }).operationId;
      const op = typeof operationId === 'string' ? byName.get(operationId) : undefined;
      if (op !== undefined) Object.assign(entry as object, { 'x-vigil-role': op.role, 'x-vigil-offline': op.offline });
    }
  }
  return doc;
}
