import Type from 'typebox';
import { listDevices as listDeviceRows } from '../../../cli/commands/devices.js';
import { shortTime, table } from '../format.js';
import { defineOperation } from '../operation.js';
import { DeviceSummary, GroupFilter, StateFilter } from './schemas.js';

/** `devices list`: the enrollment module's listing (`listDevices` in cli/commands/devices.ts), served as an operation. */
export const listDevices = defineOperation({
  name: 'devices.list',
  summary: 'list enrolled devices with their state, policy and latest attestation',
  method: 'GET',
  path: '/v1/devices',
  role: 'viewer',
  input: Type.Object({ state: StateFilter, group: GroupFilter }, { additionalProperties: false }),
  output: Type.Array(DeviceSummary),
  offline: true,
  handler: (ctx, input) => listDeviceRows(ctx.store, input),
  cli: {
    command: ['devices', 'list'],
    description: 'list enrolled devices: id, state, group, policy, enrollment and last attestation',
    render: (devices) =>
      table(
        ['DEVICE', 'STATE', 'GROUP', 'POLICY', 'ENROLLED', 'LAST VERIFIED', 'LAST ATTESTATION'],
        devices.map((d) => [d.id, d.state, d.group ?? '-', d.policy ?? '-', shortTime(d.enrolledAt), shortTime(d.lastVerifiedAt), shortTime(d.lastAttestationAt)]),
      ),
  },
});
