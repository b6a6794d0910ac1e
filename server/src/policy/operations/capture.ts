import Type from 'typebox';
import { DEVICE_ID_PATTERN } from '@vigil/protocol/core';
import { defineOperation, OperationError } from '../../admin/operations/index.js';
import { PolicyInfo, PolicyName, policyInfo, reloadVerifierPolicies } from './shared.js';

export const capturePolicy = defineOperation({
  name: 'policies.capture',
  summary: "make a policy version from a known-good device's last verified evidence",
  description:
    'Golden PCR values, boot application and driver digests, secure boot state and databases, and model digests, all from the evidence the device last passed verification with.',
  method: 'POST',
  path: '/v1/policies/capture',
  role: 'admin',
  input: Type.Object(
    {
      fromDevice: Type.String({ pattern: DEVICE_ID_PATTERN, maxLength: 63, description: 'the reference device' }),
      name: PolicyName,
    },
    { additionalProperties: false },
  ),
  output: Type.Object({ info: PolicyInfo, pcrs: Type.Integer({ description: 'golden PCR values captured' }), models: Type.Integer({ description: 'model files captured' }) }, { additionalProperties: false }),
  offline: true,
  async handler(ctx, { fromDevice, name }) {
    const [{ captureGoldenValues }, { PolicyError }, { analyseBootLog }] = await Promise.all([
      import('../capture.js'),
      import('../errors.js'),
      import('../../verifier/logs/boot-log.js'),
    ]);
    const device = await ctx.store.getDevice(fromDevice);
    if (device === null) throw new OperationError('not-found', `no device ${fromDevice}`, { property: 'fromDevice' });
    const state = await ctx.store.getDeviceLogState(fromDevice);
    if (state === null || state.verifiedPcrs === null) {
      throw new OperationError('conflict', `device ${fromDevice} has no verified attestation to capture from (attest it first)`, { property: 'fromDevice' });
    }
    let bootLog = null;
    if (state.bootLogDigest !== null) {
      const stored = await ctx.store.getBootLog(fromDevice, state.bootLogDigest);
      if (stored !== null) bootLog = (await analyseBootLog(stored.data, stored.digest)).facts;
    }
    const current = await ctx.store.resolvePolicy(fromDevice);
    const modelPcr = (current?.policy.document as { models?: { pcr?: number } } | null)?.models?.pcr;
    let document;
    try {
      document = captureGoldenValues({ deviceId: fromDevice, state, bootLog }, modelPcr === undefined ? {} : { modelPcr });
    } catch (err) {
      if (err instanceof PolicyError) throw new OperationError('conflict', err.message, { property: 'fromDevice' });
      throw err;
    }
    const record = await ctx.store.createPolicyVersion({ name, document, actor: ctx.actor });
    await reloadVerifierPolicies(ctx);
    const pcrs = Object.values(document.pcrs ?? {}).reduce((n, bank) => n + Object.keys(bank ?? {}).length, 0);
    return { info: policyInfo(record), pcrs, models: Object.keys(document.models?.allowed ?? {}).length };
  },
  cli: {
    command: ['policy', 'capture'],
    render: ({ info, pcrs, models }) => `policy ${info.name}@${info.version} captured: ${pcrs} PCR values, ${models} model files (assign it with: vigil-server policy assign ${info.name} --all)\n`,
  },
});
