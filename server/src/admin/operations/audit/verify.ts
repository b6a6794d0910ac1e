import Type from 'typebox';
import { ExitCode } from '../../../cli/exit-codes.js';
import { defineOperation } from '../operation.js';

export const verifyAudit = defineOperation({
  name: 'audit.verify',
  summary: 'walk the whole audit hash chain and report the first entry that does not verify',
  description: 'The CLI exits 0 if the chain is intact and 1 if it is broken.',
  method: 'GET',
  path: '/v1/audit/verify',
  role: 'viewer',
  input: Type.Object({}, { additionalProperties: false }),
  output: Type.Union([
    Type.Object({ ok: Type.Literal(true), entries: Type.Integer(), headHash: Type.String() }, { additionalProperties: false }),
    Type.Object(
      { ok: Type.Literal(false), entries: Type.Integer({ description: 'entries intact before the break' }), brokenSeq: Type.Integer(), why: Type.String() },
      { additionalProperties: false },
    ),
  ]),
  offline: true,
  handler: ({ store }) => store.verifyAuditChain(),
  cli: {
    command: ['audit', 'verify'],
    description: 'walk the whole audit chain: exit 0 if intact, 1 naming the first broken entry',
    render: (r) =>
      r.ok
        ? `audit chain intact: ${r.entries} entries (head ${r.headHash})\n`
        : `audit chain broken at entry ${r.brokenSeq}: ${r.why} (${r.entries} entries before it verify)\n`,
    exitCode: (r) => (r.ok ? ExitCode.Ok : ExitCode.Failed),
  },
});
