import Type from 'typebox';
import { OperationError } from '../errors.js';
import { defineOperation } from '../operation.js';
import { DeviceIdParam } from '../schemas.js';

/**
 * The registrar refuses a known EK (`already-enrolled`) unless an
 * administrator allowed it to enroll again: a re-imaged device whose state
 * directory was wiped, a replaced bootstrap key. The permission is used up
 * by the next enrollment of that EK, which keeps the device id and revokes
 * its earlier certificates (store `enrollDevice`).
 */
export const allowReenrollment = defineOperation({
  name: 'devices.allow-reenrollment',
  summary: "let a device's TPM enroll again once (keeps its id; its earlier certificates are revoked when it does)",
  description:
    'For a device that is not revoked (a revoked one is reinstated instead, which allows re-enrollment too). The device then enrolls with a new token; the permission is used up by that enrollment.',
  method: 'POST',
  path: '/v1/devices/:id/allow-reenrollment',
  role: 'operator',
  input: Type.Object({ id: DeviceIdParam }, { additionalProperties: false }),
  output: Type.Object({ id: Type.String(), reenrollAllowed: Type.Literal(true) }, { additionalProperties: false }),
  offline: true,
  async handler({ store, actor }, { id }) {
    const device = await store.getDevice(id);
    if (device === null) throw new OperationError('not-found', `no device ${id}`, { property: 'id' });
    // A revoked device stays revoked through a re-enrollment alone: reinstatement is the act that lifts it.
    if (device.revoked) throw new OperationError('conflict', `device ${id} is revoked: reinstate it (vigil-server reinstate ${id}), which also allows re-enrollment`, { property: 'id' });
    if (!(await store.allowReenrollment(id, actor))) throw new OperationError('not-found', `no device ${id}`, { property: 'id' });
    return { id, reenrollAllowed: true as const };
  },
  cli: {
    command: ['device', 'allow-reenrollment'],
    arguments: ['id'],
    render: (o) => `device ${o.id} may enroll again once: give it a new token (vigil-agent enroll --force ...)\n`,
  },
});
