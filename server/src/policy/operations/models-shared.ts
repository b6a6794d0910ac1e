import Type from 'typebox';
import { IsoTime, Nullable } from '../../admin/operations/index.js';
import type { AllowedModel } from '../../store/index.js';

export const ModelName = Type.String({ minLength: 1, maxLength: 1024, pattern: '^[^\\u0000-\\u001f\\u007f]+$', description: 'model file name, or absolute path' });

export const ModelInfo = Type.Object(
  {
    name: Type.String(),
    digest: Type.String(),
    note: Nullable(Type.String()),
    addedAt: IsoTime,
    addedBy: Type.String(),
    revokedAt: Nullable(IsoTime),
  },
  { additionalProperties: false },
);

export function modelInfo(m: AllowedModel) {
  return {
    name: m.name,
    digest: m.digest,
    note: m.note,
    addedAt: new Date(m.addedAt).toISOString(),
    addedBy: m.addedBy,
    revokedAt: m.revokedAt === null ? null : new Date(m.revokedAt).toISOString(),
  };
}
