import Type from 'typebox';
import { defineOperation, OperationError } from '../../admin/operations/index.js';
import { PolicyRef, policyRef, resolvePolicyRef } from './shared.js';

const Change = Type.Object(
  {
    path: Type.String({ description: 'JSON pointer; `/-` marks one value of a set added or removed' }),
    kind: Type.Union([Type.Literal('added'), Type.Literal('removed'), Type.Literal('changed')]),
    before: Type.Optional(Type.Unknown()),
    after: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

export const diffPolicy = defineOperation({
  name: 'policies.diff',
  summary: 'what changed between two policy versions (default: the latest and the one before)',
  method: 'GET',
  path: '/v1/policies/:policy/diff',
  role: 'viewer',
  input: Type.Object(
    { policy: PolicyRef, against: Type.Optional(policyRef('the policy (name or name@version) to compare with; default the version before')) },
    { additionalProperties: false },
  ),
  output: Type.Object({ from: Type.String(), to: Type.String(), changes: Type.Array(Change) }, { additionalProperties: false }),
  offline: true,
  async handler(ctx, { policy, against }) {
    const { diffPolicies } = await import('../diff.js');
    const to = await resolvePolicyRef(ctx, policy, 'policy');
    let from;
    if (against !== undefined) from = await resolvePolicyRef(ctx, against, 'against');
    else {
      if (to.version === 1) throw new OperationError('invalid-input', `${to.name}@1 is the first version: name another to compare with`, { property: 'against' });
      from = await resolvePolicyRef(ctx, `${to.name}@${to.version - 1}`, 'policy');
    }
    const changes = diffPolicies(from.document, to.document).map((c) => ({
      path: c.path,
      kind: c.kind,
      ...(c.before !== undefined ? { before: c.before } : {}),
      ...(c.after !== undefined ? { after: c.after } : {}),
    }));
    return { from: `${from.name}@${from.version}`, to: `${to.name}@${to.version}`, changes };
  },
  cli: {
    command: ['policy', 'diff'],
    arguments: ['policy', 'against'],
    render: ({ from, to, changes }) => {
      let out = `--- ${from}\n+++ ${to}\n`;
      if (changes.length === 0) return `${out}(no changes)\n`;
      for (const c of changes) {
        if (c.kind !== 'added') out += `- ${c.path}: ${JSON.stringify(c.before)}\n`;
        if (c.kind !== 'removed') out += `+ ${c.path}: ${JSON.stringify(c.after)}\n`;
      }
      return out;
    },
  },
});
