import Type from 'typebox';
import { DEVICE_ID_PATTERN } from '@vigil/protocol/core';
import { defineOperation, OperationError } from '../../admin/operations/index.js';
import type { PolicyTarget } from '../../store/index.js';
import { AssignmentInfo, PolicyRef, assignmentInfo, reloadVerifierPolicies } from './shared.js';

export const assignPolicy = defineOperation({
  name: 'policies.assign',
  summary: 'apply a policy to a device, a group or the whole fleet',
  description: "A device's own assignment wins over its group's, which wins over the fleet's. `name` follows the latest version; `name@N` pins version N.",
  method: 'POST',
  path: '/v1/policies/:policy/assign',
  role: 'admin',
  input: Type.Object(
    {
      policy: PolicyRef,
      device: Type.Optional(Type.String({ pattern: DEVICE_ID_PATTERN, maxLength: 63, description: 'assign to this device' })),
      group: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,62}$', maxLength: 63, description: 'assign to this group' })),
      all: Type.Optional(Type.Boolean({ description: 'assign to the whole fleet' })),
    },
    { additionalProperties: false },
  ),
  output: AssignmentInfo,
  offline: true,
  async handler(ctx, input) {
    const targets = [input.device !== undefined, input.group !== undefined, input.all === true].filter(Boolean).length;
    if (targets !== 1) throw new OperationError('invalid-input', 'name exactly one of --device, --group or --all', { property: 'device' });
    const target: PolicyTarget =
      input.device !== undefined ? { kind: 'device', deviceId: input.device } : input.group !== undefined ? { kind: 'group', group: input.group } : { kind: 'all' };
    const [name, version] = input.policy.split('@') as [string, string | undefined];
    const result = await ctx.store.assignPolicy({ target, policyName: name, policyVersion: version === undefined ? null : Number(version), actor: ctx.actor });
    if (!result.ok) {
      const property = result.reason === 'unknown-device' ? 'device' : 'policy';
      throw new OperationError('not-found', `${result.reason === 'unknown-device' ? `no device ${input.device}` : `no policy ${input.policy}`}`, { property });
    }
    await reloadVerifierPolicies(ctx);
    return assignmentInfo(result.assignment);
  },
  cli: {
    command: ['policy', 'assign'],
    arguments: ['policy'],
    render: (a) => `${a.policy} assigned to ${a.target}\n`,
  },
});
