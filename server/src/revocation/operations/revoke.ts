import Type from 'typebox';
import { defineOperation, DeviceIdParam, OperationError, Text } from '../../admin/operations/index.js';

export const revokeDevice = defineOperation({
  name: 'devices.revoke',
  summary: 'revoke a device now: certificates, CRL, live session, future connections, fleet event, webhook',
  description:
    'Through the running server every side effect happens at once. With no server running the store and the CRL are updated now and the rest (broker, fleet event, webhook) when the server next starts.',
  method: 'POST',
  path: '/v1/devices/:id/revoke',
  role: 'operator',
  input: Type.Object({ id: DeviceIdParam, reason: Text(512, { description: 'why, for the audit log, the fleet event and the webhook' }) }, { additionalProperties: false }),
  output: Type.Object(
    {
      id: Type.String(),
      revocation: Type.Integer(),
      serials: Type.Array(Type.String(), { description: 'certificates revoked' }),
      effects: Type.Union([Type.Literal('applied'), Type.Literal('pending')], { description: '`pending`: applied when the server starts' }),
    },
    { additionalProperties: false },
  ),
  offline: true,
  async handler(ctx, { id, reason }) {
    // An admin's revocation is unconditional: `verified-since` (a conditional revocation's refusal) cannot come back here.
    const refused = (r: 'unknown-device' | 'already-revoked' | 'verified-since') =>
      r === 'unknown-device' ? new OperationError('not-found', `no device ${id}`, { property: 'id' }) : new OperationError('conflict', `device ${id} is already revoked`, { property: 'id' });
    if (ctx.server !== undefined) {
      const { Revocations } = await import('../service.js');
      const service = ctx.server.services.get(Revocations);
      if (service === undefined) throw new OperationError('unavailable', 'the revocation service is not running');
      const r = await service.revoke(id, 'admin', ctx.actor, reason);
      if (!r.ok) throw refused(r.reason);
      return { id, revocation: r.revocation.id, serials: [...r.revocation.serials], effects: 'applied' as const };
    }
    const r = await ctx.store.revokeDevice({ deviceId: id, reason: 'admin', message: reason, actor: ctx.actor });
    if (!r.ok) throw refused(r.reason);
    // Offline: the CRL now (it is a file); the broker, the fleet event and the webhook at the next start (pending effects).
    const [{ CrlPublisher }, { days }, { createLogger }] = await Promise.all([import('../crl-publisher.js'), import('../../pki/index.js'), import('../../log.js')]);
    const config = await ctx.config();
    const crl = new CrlPublisher({ store: ctx.store, ca: await ctx.fleetCa(), path: ctx.paths.crl, validityMs: days(config.pki.crlValidityDays), log: createLogger({ level: 'silent' }) });
    try {
      await crl.reissue();
    } finally {
      await crl.close();
    }
    return { id, revocation: r.revocation.id, serials: [...r.revocation.serials], effects: 'pending' as const };
  },
  cli: {
    command: ['revoke'],
    arguments: ['id'],
    render: (o) =>
      `device ${o.id} revoked (${o.serials.length} certificate${o.serials.length === 1 ? '' : 's'})` +
      (o.effects === 'pending' ? '; the server is not running: its session, fleet event and webhook follow when it starts\n' : '\n'),
  },
});
