import Type from 'typebox';
import { defineOperation } from '../operation.js';

const AuditEntry = Type.Object(
  {
    seq: Type.Integer(),
    at: Type.Integer({ description: 'Unix milliseconds (hashed as such)' }),
    actor: Type.String(),
    action: Type.String(),
    subject: Type.String(),
    details: Type.Record(Type.String(), Type.Unknown()),
    prevHash: Type.String(),
    hash: Type.String(),
  },
  { additionalProperties: false },
);

export const listAudit = defineOperation({
  name: 'audit.list',
  summary: 'audit entries in order, a page at a time',
  method: 'GET',
  path: '/v1/audit',
  role: 'viewer',
  input: Type.Object(
    {
      after: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0, description: 'start after this entry' }),
      limit: Type.Integer({ minimum: 1, maximum: 100_000, default: 1000, description: 'at most this many entries' }),
    },
    { additionalProperties: false },
  ),
  output: Type.Array(AuditEntry),
  offline: true,
  handler: ({ store }, { after, limit }) => store.listAudit({ afterSeq: after, limit }),
  cli: {
    command: ['audit', 'list'],
    description: 'print audit entries in order',
    render: (entries) =>
      entries.map((e) => `${e.seq}\t${new Date(e.at).toISOString()}\t${e.actor}\t${e.action}\t${e.subject}\t${JSON.stringify(e.details)}\n`).join(''),
  },
});
