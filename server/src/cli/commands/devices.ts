import type { Command } from 'commander';
import type { EarStatus } from '@vigil/protocol/core';
import { dataDir, defaultDataRoot } from '../../datadir.js';
import type { Device, DeviceFilter, Store } from '../../store/index.js';
import { CliError, ExitCode } from '../exit-codes.js';

/** A device's standing as `devices list` shows it: `revoked`, else its latest overall status (`none` before the first appraisal). */
export type DeviceState = EarStatus | 'revoked';
export const DEVICE_STATES: readonly DeviceState[] = ['none', 'affirming', 'warning', 'contraindicated', 'revoked'];

/** One row of `vigil-server devices list` (and of its `--json` array). Times are ISO 8601 or null. */
export interface DeviceRow {
  readonly id: string;
  readonly state: DeviceState;
  readonly status: EarStatus;
  readonly revoked: boolean;
  readonly group: string | null;
  /** `name@version` of the policy that applies (device, group or fleet assignment), or null. */
  readonly policy: string | null;
  readonly enrolledAt: string;
  readonly lastVerifiedAt: string | null;
  readonly lastAttestationAt: string | null;
}

export interface DeviceListFilter {
  readonly state?: DeviceState;
  readonly group?: string;
}

/**
 * The devices in a state (and group), oldest enrollment first: the logic of
 * `devices list`, usable wherever a store is at hand (the admin API).
 */
export async function listDevices(store: Store, filter: DeviceListFilter = {}): Promise<DeviceRow[]> {
  const storeFilter: DeviceFilter = {
    ...(filter.state === undefined ? {} : filter.state === 'revoked' ? { revoked: true } : { status: filter.state, revoked: false }),
    ...(filter.group === undefined ? {} : { group: filter.group }),
  };
  const devices = await store.listDevices(storeFilter);
  const rows = await Promise.all(devices.map((d) => deviceRow(store, d)));
  return rows.sort((a, b) => a.enrolledAt.localeCompare(b.enrolledAt) || a.id.localeCompare(b.id));
}

async function deviceRow(store: Store, d: Device): Promise<DeviceRow> {
  const [latest, policy] = await Promise.all([store.listAttestations(d.id, 1), store.resolvePolicy(d.id)]);
  return {
    id: d.id,
    state: d.revoked ? 'revoked' : d.status,
    status: d.status,
    revoked: d.revoked,
    group: d.group,
    policy: policy === null ? null : `${policy.policy.name}@${policy.policy.version}`,
    enrolledAt: new Date(d.createdAt).toISOString(),
    lastVerifiedAt: d.lastVerifiedAt === null ? null : new Date(d.lastVerifiedAt).toISOString(),
    lastAttestationAt: latest[0] === undefined ? null : new Date(latest[0].receivedAt).toISOString(),
  };
}

/**
 * `vigil-server devices list`. Adds `list` to an existing `devices` command
 * if another module already made one, so both can live side by side.
 */
export function register(program: Command): void {
  const devices = program.commands.find((c) => c.name() === 'devices') ?? program.command('devices').description('enrolled devices');
  if (devices.commands.some((c) => c.name() === 'list')) return;
  devices
    .command('list')
    .description('list enrolled devices: id, state, group, policy, enrollment and last attestation')
    .option('--data <dir>', 'data directory (default: $VIGIL_DATA or /var/lib/vigil)', defaultDataRoot())
    .option('--state <state>', `only devices in this state: ${DEVICE_STATES.join(', ')}`)
    .option('--group <name>', 'only devices of this group')
    .option('--json', 'print a JSON array')
    .action(async (options: { data: string; state?: string; group?: string; json?: boolean }) => {
      if (options.state !== undefined && !(DEVICE_STATES as readonly string[]).includes(options.state)) {
        throw new CliError(`--state: '${options.state}' is not one of ${DEVICE_STATES.join(', ')}`, ExitCode.Usage);
      }
      const filter: DeviceListFilter = {
        ...(options.state !== undefined ? { state: options.state as DeviceState } : {}),
        ...(options.group !== undefined ? { group: options.group } : {}),
      };
      const rows = await withStore(options.data, (store) => listDevices(store, filter));
      if (options.json === true) {
        process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
        return;
      }
      process.stdout.write(
        table(
          ['DEVICE', 'STATE', 'GROUP', 'POLICY', 'ENROLLED', 'LAST VERIFIED', 'LAST ATTESTATION'],
          rows.map((r) => [r.id, r.state, r.group ?? '-', r.policy ?? '-', short(r.enrolledAt), short(r.lastVerifiedAt), short(r.lastAttestationAt)]),
        ),
      );
    });
}

function short(iso: string | null): string {
  return iso === null ? '-' : iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd() + '\n';
  return line(header) + rows.map(line).join('');
}

/** Opens the existing database of a data directory, runs `fn`, closes it; store failures become exit codes. */
async function withStore<T>(root: string, fn: (store: Store) => Promise<T>): Promise<T> {
  // Loaded on use, not at start-up: every vigil-server command registers when the program starts.
  const [{ openSelectedStore, StoreError }, { loadServerConfig }, { startupError }] = await Promise.all([
    import('../../store/index.js'),
    import('../../config/index.js'),
    import('../../config/startup-errors.js'),
  ]);
  const paths = dataDir(root);
  const config = await loadServerConfig({ configPath: paths.config }).catch((err: unknown) => startupError(err, paths.root));
  let store: Store;
  try {
    store = await openSelectedStore(config.store, paths.database, { create: false });
  } catch (err) {
    if (err instanceof StoreError && err.code === 'missing') {
      throw new CliError(`no database at ${paths.database} (run: vigil-server init --data ${paths.root})`, ExitCode.Io, { cause: err });
    }
    if (err instanceof StoreError) throw new CliError(err.message, ExitCode.Io, { cause: err });
    throw err;
  }
  try {
    return await fn(store);
  } catch (err) {
    if (err instanceof StoreError) throw new CliError(err.message, ExitCode.Io, { cause: err });
    throw err;
  } finally {
    await store.close();
  }
}
