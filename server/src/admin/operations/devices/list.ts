import Type from 'typebox';
import type { DeviceFilter, Store } from '../../../store/index.js';
import { shortTime, table } from '../format.js';
import { defineOperation } from '../operation.js';
import { DeviceSummary, GroupFilter, StateFilter, type DeviceState } from './schemas.js';
import { deviceSummary } from './summary.js';

/** The devices in a state (and group), as `devices list` shows them; reusable by any component. */
export async function listDeviceSummaries(store: Store, filter: { state?: DeviceState; group?: string } = {}): Promise<DeviceSummary[]> {
  const storeFilter: DeviceFilter = {
    ...(filter.state === undefined ? {} : filter.state === 'revoked' ? { revoked: true } : { status: filter.state, revoked: false }),
    ...(filter.group === undefined ? {} : { group: filter.group }),
  };
  const devices = await store.listDevices(storeFilter);
  return Promise.all(devices.map((d) => deviceSummary(store, d)));
}

export const listDevices = defineOperation({
  name: 'devices.list',
  summary: 'list enrolled devices with their state, policy and latest attestation',
  method: 'GET',
  path: '/v1/devices',
  role: 'viewer',
  input: Type.Object({ state: StateFilter, group: GroupFilter }, { additionalProperties: false }),
  output: Type.Array(DeviceSummary),
  offline: true,
  handler: (ctx, input) => listDeviceSummaries(ctx.store, input),
  cli: {
    command: ['devices', 'list'],
    render: (devices) =>
      table(
        ['DEVICE', 'STATE', 'GROUP', 'POLICY', 'LAST VERIFIED', 'LAST ATTESTATION', 'ENROLLED'],
        devices.map((d) => [d.id, d.state, d.group ?? '-', d.policy ?? '-', shortTime(d.lastVerifiedAt), shortTime(d.lastAttestationAt), shortTime(d.enrolledAt)]),
      ),
  },
});
