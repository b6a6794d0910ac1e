import Type from 'typebox';
import { shortTime, table } from '../format.js';
import { defineOperation } from '../operation.js';
import { TokenInfo, tokenInfo } from './schemas.js';

export const listTokens = defineOperation({
  name: 'tokens.list',
  summary: 'list enrollment tokens (never their values)',
  method: 'GET',
  path: '/v1/tokens',
  role: 'viewer',
  input: Type.Object({}, { additionalProperties: false }),
  output: Type.Array(TokenInfo),
  offline: true,
  async handler({ store }) {
    const now = Date.now();
    return (await store.listTokens()).map((t) => tokenInfo(t, now));
  },
  cli: {
    command: ['token', 'list'],
    render: (tokens) =>
      table(
        ['ID', 'STATE', 'USES', 'EXPIRES', 'DEVICE NAME', 'LABEL'],
        tokens.map((t) => [String(t.id), t.state, `${t.uses}/${t.maxUses}`, shortTime(t.expiresAt), t.deviceName ?? '-', t.label ?? '']),
      ),
  },
});
