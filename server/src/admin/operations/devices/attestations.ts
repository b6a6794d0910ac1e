import Type from 'typebox';
import { OperationError } from '../errors.js';
import { shortTime, table } from '../format.js';
import { defineOperation } from '../operation.js';
import { DeviceIdParam, Nullable } from '../schemas.js';
import { AttestationEntry } from './schemas.js';
import { attestationEntry } from './summary.js';

export const listAttestations = defineOperation({
  name: 'devices.attestations',
  summary: "a device's attestation history, newest first, a page at a time",
  description: 'Pass the `next` of one page as `before` to get the next; `next` is null on the last page.',
  method: 'GET',
  path: '/v1/devices/:id/attestations',
  role: 'viewer',
  input: Type.Object(
    {
      id: DeviceIdParam,
      limit: Type.Integer({ minimum: 1, maximum: 1000, default: 20, description: 'at most this many attestations' }),
      before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'only attestations older than this id (the previous page’s next)' })),
    },
    { additionalProperties: false },
  ),
  output: Type.Object(
    { items: Type.Array(AttestationEntry), next: Nullable(Type.Integer({ description: 'pass as before for the next page' })) },
    { additionalProperties: false },
  ),
  offline: true,
  async handler({ store }, { id, limit, before }) {
    if ((await store.getDevice(id)) === null) throw new OperationError('not-found', `no device ${id}`);
    // One more than asked tells whether another page follows.
    const rows = await store.listAttestations(id, limit + 1, before);
    const items = rows.slice(0, limit).map(attestationEntry);
    return { items, next: rows.length > limit ? items.at(-1)!.id : null };
  },
  cli: {
    command: ['attestations'],
    arguments: ['id'],
    render: ({ items, next }) =>
      table(
        ['ID', 'RECEIVED', 'STATUS', 'POLICY', 'REASONS'],
        items.map((a) => [
          String(a.id),
          shortTime(a.receivedAt),
          a.status,
          a.policy ?? '-',
          a.error !== null ? `${a.error.code}: ${a.error.message}` : a.reasons.map((r) => `${r.submodule}/${r.code}`).join(', ') || '-',
        ]),
      ) + (next === null ? '' : `(more: --before ${next})\n`),
  },
});
