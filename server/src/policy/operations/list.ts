import Type from 'typebox';
import { defineOperation, shortTime, table } from '../../admin/operations/index.js';
import { AssignmentInfo, PolicyInfo, assignmentInfo, policyInfo } from './shared.js';

export const listPolicies = defineOperation({
  name: 'policies.list',
  summary: 'the latest version of every policy, and who each applies to',
  method: 'GET',
  path: '/v1/policies',
  role: 'viewer',
  input: Type.Object({}, { additionalProperties: false }),
  output: Type.Object({ policies: Type.Array(PolicyInfo), assignments: Type.Array(AssignmentInfo) }, { additionalProperties: false }),
  offline: true,
  async handler({ store }) {
    const [policies, assignments] = await Promise.all([store.listPolicies(), store.listPolicyAssignments()]);
    return { policies: policies.map(policyInfo), assignments: assignments.map(assignmentInfo) };
  },
  cli: {
    command: ['policy', 'list'],
    render: ({ policies, assignments }) =>
      table(
        ['POLICY', 'VERSION', 'CREATED', 'BY', 'DESCRIPTION'],
        policies.map((p) => [p.name, String(p.version), shortTime(p.createdAt), p.createdBy, p.description ?? '']),
      ) +
      (assignments.length === 0 ? '\nno policy is assigned: devices are appraised for integrity only\n' : '\n' + table(['TARGET', 'POLICY', 'ASSIGNED', 'BY'], assignments.map((a) => [a.target, a.policy, shortTime(a.assignedAt), a.assignedBy]))),
  },
});
