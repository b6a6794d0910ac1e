import type { EarStatus } from '@vigil/protocol/core';
import type { Broker } from '../../broker/index.js';
import type { Store } from '../../store/index.js';
import type { Paint } from './terminal.js';

/** One device as the operator sees it: the server's view, never the agent's. */
export interface FleetRow {
  readonly device: string;
  /** `enrolling`: not in the store yet; `connected`/`offline`: the broker's view; `revoked`. */
  readonly state: 'enrolling' | 'connected' | 'offline' | 'revoked';
  readonly verdict: EarStatus;
  /** When the last appraisal happened (ms since the epoch), if any. */
  readonly verdictAt: number | null;
  /** First reason of the last appraisal, as `submodule/code`, or the policy it passed. */
  readonly detail: string;
}

/** Reads the fleet from the store and the broker. */
export async function fleetRows(store: Store, broker: Broker, devices: readonly string[]): Promise<FleetRow[]> {
  const rows: FleetRow[] = [];
  for (const id of devices) {
    const device = await store.getDevice(id);
    if (device === null) {
      rows.push({ device: id, state: 'enrolling', verdict: 'none', verdictAt: null, detail: '' });
      continue;
    }
    const [last] = await store.listAttestations(id, 1);
    const reason = last?.reasons[0];
    const detail = reason !== undefined ? `${reason.submodule}/${reason.code}` : last?.policy ? `policy ${last.policy.name}@${last.policy.version}` : last ? 'no policy yet' : '';
    rows.push({
      device: id,
      state: device.revoked ? 'revoked' : broker.isConnected({ kind: 'device', deviceId: id }) ? 'connected' : 'offline',
      verdict: last?.status ?? device.status,
      verdictAt: last?.receivedAt ?? null,
      detail,
    });
  }
  return rows;
}

function age(at: number | null, now: number): string {
  if (at === null) return '-';
  const s = Math.max(0, Math.floor((now - at) / 1000));
  return s < 120 ? `${s}s ago` : `${Math.floor(s / 60)}m ago`;
}

/** The fleet table as aligned text lines (padding is computed before colouring, so columns stay aligned). */
export function renderFleetTable(rows: readonly FleetRow[], paint: Paint, now = Date.now()): string[] {
  const header = ['DEVICE', 'STATE', 'LAST VERDICT', 'AGE', 'DETAIL'];
  const cells = rows.map((r) => [r.device, r.state, r.verdict, age(r.verdictAt, now), r.detail]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const pad = (text: string, i: number): string => text.padEnd(widths[i]!);
  const colourState = (s: string, padded: string): string => (s === 'connected' ? paint.ok(padded) : s === 'revoked' ? paint.bad(padded) : paint.dim(padded));
  const colourVerdict = (v: string, padded: string): string =>
    v === 'affirming' ? paint.ok(padded) : v === 'warning' ? paint.warn(padded) : v === 'contraindicated' ? paint.bad(padded) : paint.dim(padded);
  return [
    paint.bold(header.map(pad).join('  ').trimEnd()),
    ...cells.map((c) => {
      const line = [pad(c[0]!, 0), colourState(c[1]!, pad(c[1]!, 1)), colourVerdict(c[2]!, pad(c[2]!, 2)), pad(c[3]!, 3)].join('  ');
      // Padding is trimmed before colour codes are added after it, so no line ends in spaces.
      return c[4] ? `${line}  ${paint.dim(c[4])}` : line.trimEnd();
    }),
  ];
}
