import Type from 'typebox';
import { DEVICE_ID_PATTERN } from '@vigil/protocol/core';
import { generateEnrollmentToken, hashEnrollmentToken } from '../../../store/token-secret.js';
import { OperationError } from '../errors.js';
import { defineOperation } from '../operation.js';
import { Text } from '../schemas.js';
import { DURATION_PATTERN, durationMs } from './duration.js';
import { TokenInfo, tokenInfo } from './schemas.js';

const MIN_TTL_MS = 1000;
const MAX_TTL_MS = 366 * 86_400_000;

export const createToken = defineOperation({
  name: 'tokens.create',
  summary: 'create an enrollment token; its value is returned once, only its hash is stored',
  method: 'POST',
  path: '/v1/tokens',
  role: 'admin',
  input: Type.Object(
    {
      uses: Type.Integer({ minimum: 1, maximum: 999_999, default: 1, description: 'how many devices may enroll with it' }),
      ttl: Type.String({ pattern: DURATION_PATTERN, maxLength: 32, default: '24h', description: 'how long it is valid, e.g. 30m, 1h, 7d, 1h30m (1s to 366d)' }),
      label: Type.Optional(Text(128, { description: 'a note for operators (shown by token list)' })),
      deviceName: Type.Optional(
        Type.String({ pattern: DEVICE_ID_PATTERN, maxLength: 63, description: 'enroll the device under this id instead of one derived from its EK (one use only)' }),
      ),
    },
    { additionalProperties: false },
  ),
  output: Type.Object({ token: Type.String({ description: 'the token: shown once, never stored' }), info: TokenInfo }, { additionalProperties: false }),
  offline: true,
  async handler({ store, actor }, input) {
    const ttlMs = durationMs(input.ttl);
    if (ttlMs < MIN_TTL_MS || ttlMs > MAX_TTL_MS) throw new OperationError('invalid-input', 'must be between 1s and 366d', { property: 'ttl' });
    if (input.deviceName !== undefined && input.uses !== 1) {
      throw new OperationError('invalid-input', 'names one device: it cannot be combined with more than one use', { property: 'deviceName' });
    }
    const token = generateEnrollmentToken();
    const record = await store.createToken({
      hash: hashEnrollmentToken(token),
      label: input.label ?? null,
      maxUses: input.uses,
      expiresAt: Date.now() + ttlMs,
      deviceName: input.deviceName ?? null,
      actor,
    });
    return { token, info: tokenInfo(record, Date.now()) };
  },
  cli: {
    command: ['token', 'create'],
    description: 'create a token and print it (alone, on stdout); only its hash is stored',
    render: ({ token }) => `${token}\n`,
  },
});
