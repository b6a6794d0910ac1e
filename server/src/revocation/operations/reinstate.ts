import Type from 'typebox';
import { defineOperation, DeviceIdParam, OperationError, Text } from '../../admin/operations/index.js';

export const reinstateDevice = defineOperation({
  name: 'devices.reinstate',
  summary: 'lift a revocation: the device may enroll again, and is trusted once it passes an attestation',
  description:
    'Status goes back to `none`. Its old certificates stay revoked: the device enrolls again (its EK is allowed to) for a new certificate, then must pass an attestation to be affirming.',
  method: 'POST',
  path: '/v1/devices/:id/reinstate',
  role: 'operator',
  input: Type.Object({ id: DeviceIdParam, message: Type.Optional(Text(512, { description: 'why, for the audit log' })) }, { additionalProperties: false }),
  output: Type.Object({ id: Type.String(), status: Type.Literal('none'), reenrollAllowed: Type.Literal(true) }, { additionalProperties: false }),
  offline: true,
  async handler(ctx, { id, message }) {
    let outcome;
    if (ctx.server !== undefined) {
      const { Revocations } = await import('../service.js');
      const service = ctx.server.services.get(Revocations);
      if (service === undefined) throw new OperationError('unavailable', 'the revocation service is not running');
      outcome = await service.reinstate(id, ctx.actor, message);
    } else {
      // The broker loads its revocation list from the store when it starts: nothing else to tell.
      outcome = await ctx.store.reinstateDevice({ deviceId: id, actor: ctx.actor, message: message ?? null });
    }
    if (!outcome.ok) {
      throw outcome.reason === 'unknown-device'
        ? new OperationError('not-found', `no device ${id}`, { property: 'id' })
        : new OperationError('conflict', `device ${id} is not revoked`, { property: 'id' });
    }
    return { id, status: 'none' as const, reenrollAllowed: true as const };
  },
  cli: {
    command: ['reinstate'],
    arguments: ['id'],
    render: (o) => `device ${o.id} reinstated: it must enroll again (its old certificates stay revoked) and pass an attestation to be trusted\n`,
  },
});
