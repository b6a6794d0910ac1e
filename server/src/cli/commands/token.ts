import type { Command } from 'commander';
import { userInfo } from 'node:os';
import { dataDir, defaultDataRoot } from '../../datadir.js';
import type { EnrollmentTokenRecord, Store } from '../../store/index.js';
import { CliError, ExitCode } from '../exit-codes.js';

/**
 * `vigil-server token create|list|revoke`: enrollment tokens. The token is
 * printed once by `create` and never again: the store keeps only its hash.
 */
export function register(program: Command): void {
  const token = program.command('token').description('enrollment tokens that authorise devices to join the fleet');

  token
    .command('create')
    .description('create a token and print it (alone, on stdout); only its hash is stored')
    .option('--data <dir>', 'data directory (default: $VIGIL_DATA or /var/lib/vigil)', defaultDataRoot())
    .option('--uses <n>', 'how many devices may enroll with it', '1')
    .option('--ttl <duration>', 'how long it is valid, e.g. 30m, 1h, 7d, 1h30m', '24h')
    .option('--label <text>', 'a note for operators (shown by token list)')
    .option('--device-name <name>', 'enroll the device under this id instead of one derived from its EK (implies --uses 1)')
    .action(async (options: { data: string; uses: string; ttl: string; label?: string; deviceName?: string }) => {
      const maxUses = parseUses(options.uses);
      const ttlMs = parseDuration(options.ttl);
      const { generateEnrollmentToken, hashEnrollmentToken, isDeviceId } = await loadStoreApi();
      if (options.deviceName !== undefined && !isDeviceId(options.deviceName)) {
        throw new CliError(`--device-name: ${JSON.stringify(options.deviceName)} is not a valid device id (a-z 0-9 . _ -, at most 63)`, ExitCode.Usage);
      }
      if (options.deviceName !== undefined && maxUses !== 1) {
        throw new CliError('--device-name names one device: it cannot be combined with --uses > 1', ExitCode.Usage);
      }
      if (options.label !== undefined && (options.label.length === 0 || options.label.length > 128 || /[\u0000-\u001f\u007f]/.test(options.label))) {
        throw new CliError('--label: 1 to 128 characters, no control characters', ExitCode.Usage);
      }
      const value = generateEnrollmentToken();
      await withStore(options.data, (store) =>
        store.createToken({
          hash: hashEnrollmentToken(value),
          label: options.label ?? null,
          maxUses,
          expiresAt: Date.now() + ttlMs,
          deviceName: options.deviceName ?? null,
          actor: cliActor(),
        }),
      );
      process.stdout.write(value + '\n');
    });

  token
    .command('list')
    .description('list tokens (never their values)')
    .option('--data <dir>', 'data directory (default: $VIGIL_DATA or /var/lib/vigil)', defaultDataRoot())
    .option('--json', 'print a JSON array')
    .action(async (options: { data: string; json?: boolean }) => {
      const tokens = await withStore(options.data, (store) => store.listTokens());
      const now = Date.now();
      if (options.json === true) {
        process.stdout.write(JSON.stringify(tokens.map((t) => tokenJson(t, now)), null, 2) + '\n');
        return;
      }
      const rows = tokens.map((t) => [String(t.id), tokenState(t, now), `${t.uses}/${t.maxUses}`, new Date(t.expiresAt).toISOString(), t.deviceName ?? '-', t.label ?? '']);
      process.stdout.write(table(['ID', 'STATE', 'USES', 'EXPIRES', 'DEVICE NAME', 'LABEL'], rows));
    });

  token
    .command('revoke')
    .description('revoke a token so that it authorises nothing more')
    .argument('<id>', 'token id (from token list)')
    .option('--data <dir>', 'data directory (default: $VIGIL_DATA or /var/lib/vigil)', defaultDataRoot())
    .action(async (id: string, options: { data: string }) => {
      if (!/^[1-9]\d{0,15}$/.test(id)) throw new CliError(`not a token id: ${JSON.stringify(id)}`, ExitCode.Usage);
      const revoked = await withStore(options.data, (store) => store.revokeToken(Number(id), cliActor()));
      if (!revoked) throw new CliError(`no active token ${id}`, ExitCode.Usage);
      process.stdout.write(`token ${id} revoked\n`);
    });
}

type TokenState = 'active' | 'expired' | 'used-up' | 'revoked';

function tokenState(t: EnrollmentTokenRecord, now: number): TokenState {
  if (t.revokedAt !== null) return 'revoked';
  if (t.expiresAt <= now) return 'expired';
  if (t.uses >= t.maxUses) return 'used-up';
  return 'active';
}

function tokenJson(t: EnrollmentTokenRecord, now: number) {
  return {
    id: t.id,
    state: tokenState(t, now),
    label: t.label,
    uses: t.uses,
    maxUses: t.maxUses,
    deviceName: t.deviceName,
    createdAt: new Date(t.createdAt).toISOString(),
    expiresAt: new Date(t.expiresAt).toISOString(),
    revokedAt: t.revokedAt === null ? null : new Date(t.revokedAt).toISOString(),
  };
}

function parseUses(text: string): number {
  if (!/^[1-9]\d{0,5}$/.test(text)) throw new CliError(`--uses: expected a whole number from 1 to 999999, got ${JSON.stringify(text)}`, ExitCode.Usage);
  return Number(text);
}

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const MAX_TTL_MS = 366 * UNIT_MS['d']!;

/** `90s`, `30m`, `1h`, `7d`, or combinations such as `1h30m`. */
export function parseDuration(text: string): number {
  if (!/^(?:\d{1,6}[smhd])+$/.test(text)) {
    throw new CliError(`--ttl: expected a duration such as 30m, 1h, 7d or 1h30m, got ${JSON.stringify(text)}`, ExitCode.Usage);
  }
  let ms = 0;
  for (const [, n, unit] of text.matchAll(/(\d+)([smhd])/g)) ms += Number(n) * UNIT_MS[unit!]!;
  if (ms < 1000 || ms > MAX_TTL_MS) throw new CliError('--ttl: must be between 1s and 366d', ExitCode.Usage);
  return ms;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd() + '\n';
  return line(header) + rows.map(line).join('');
}

/** Who is acting, for the audit log. */
function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:uid-${process.getuid?.() ?? 'unknown'}`;
  }
}

async function loadStoreApi() {
  // Loaded on use, not at start-up: every vigil-server command registers when the program starts.
  const [store, protocol] = await Promise.all([import('../../store/index.js'), import('@vigil/protocol/core')]);
  return { ...store, isDeviceId: protocol.isDeviceId };
}

/** Opens the existing database of a data directory, runs `fn`, closes it; store failures become exit codes. */
async function withStore<T>(root: string, fn: (store: Store) => Promise<T>): Promise<T> {
  const { openSqliteStore, StoreError } = await import('../../store/index.js');
  const paths = dataDir(root);
  let store: Store;
  try {
    store = await openSqliteStore(paths.database, { create: false });
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
    if (err instanceof StoreError) throw new CliError(err.message, err.code === 'invalid-argument' ? ExitCode.Usage : ExitCode.Io, { cause: err });
    throw err;
  } finally {
    await store.close();
  }
}
