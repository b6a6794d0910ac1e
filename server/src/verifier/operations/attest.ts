import Type from 'typebox';
import { defineOperation, DeviceIdParam, OperationError } from '../../admin/operations/index.js';
import { ExitCode } from '../../cli/exit-codes.js';

const EarStatusSchema = Type.Union([Type.Literal('none'), Type.Literal('affirming'), Type.Literal('warning'), Type.Literal('contraindicated')]);

export const attestDevice = defineOperation({
  name: 'devices.attest',
  summary: 'challenge a device now and wait for the verdict on its answer',
  method: 'POST',
  path: '/v1/devices/:id/attest',
  role: 'operator',
  input: Type.Object(
    { id: DeviceIdParam, timeout: Type.Integer({ minimum: 1, maximum: 600, default: 30, description: 'seconds to wait for the answer' }) },
    { additionalProperties: false },
  ),
  output: Type.Object(
    {
      id: Type.String(),
      status: EarStatusSchema,
      challengeId: Type.Union([Type.String(), Type.Null()]),
      /** The EAR verdict, when the evidence was appraised. */
      verdict: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
      /** Why there is no verdict: not connected, timeout, or an error result (schema, overloaded, ...). */
      error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: false }), Type.Null()]),
    },
    { additionalProperties: false },
  ),
  offline: false,
  async handler(ctx, { id, timeout }) {
    const { VerifierService } = await import('../component.js');
    const service = ctx.server.services.get(VerifierService);
    if (service === undefined) throw new OperationError('unavailable', 'the verifier is not running');
    const outcome = await service.verifier.attestNow(id, timeout * 1000);
    if (!outcome.ok && outcome.error === 'unknown-device') throw new OperationError('not-found', `no device ${id}`, { property: 'id' });
    await ctx.store.appendAudit({ actor: ctx.actor, action: 'device.attest', subject: `device:${id}`, details: { outcome: outcome.ok ? outcome.status : outcome.error } });
    if (outcome.ok) return { id, status: outcome.status, challengeId: outcome.challengeId, verdict: outcome.verdict as unknown as Record<string, unknown>, error: null };
    return { id, status: 'none' as const, challengeId: outcome.challengeId ?? null, verdict: null, error: { code: outcome.error, message: outcome.message } };
  },
  cli: {
    command: ['attest'],
    arguments: ['id'],
    render(o) {
      if (o.error !== null) return `device ${o.id}: no verdict (${o.error.code}): ${o.error.message}\n`;
      let out = `device ${o.id}: ${o.status}\n`;
      const submods = (o.verdict?.['submods'] ?? {}) as Record<string, { 'ear.status': string; 'vigil.reasons'?: Array<{ code: string; message: string }> }>;
      for (const [name, a] of Object.entries(submods)) {
        out += `  ${name}: ${a['ear.status']}\n`;
        for (const r of a['vigil.reasons'] ?? []) out += `    ${r.code}: ${r.message}\n`;
      }
      return out;
    },
    json: (o) => (o.verdict !== null ? o.verdict : o),
    exitCode: (o) => (o.status === 'affirming' ? ExitCode.Ok : ExitCode.Failed),
  },
});
