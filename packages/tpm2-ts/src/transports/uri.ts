import { Startup } from '../commands/startup.js';
import { TPM_RC } from '../constants/rc.js';
import { TPM_SU } from '../constants/st.js';
import { TpmResponseError } from '../errors.js';
import { Tpm, type TpmOptions } from '../tpm.js';
import type { Transport } from '../transport.js';
import { DeviceTransport } from './device.js';
import { MssimTransport } from './mssim.js';
import type { SocketAddress } from './stream.js';
import { SwtpmTransport } from './swtpm.js';

/** A TPM URI that cannot be parsed or names an unknown transport. */
export class TpmUriError extends Error {
  constructor(
    readonly uri: string,
    reason: string,
  ) {
    super(`bad TPM URI '${uri}': ${reason}. Expected swtpm:path=/x.sock, swtpm:host=127.0.0.1,port=2321, mssim:host=...,port=..., or device:/dev/tpmrm0`);
    this.name = 'TpmUriError';
  }
}

/** Where a TPM URI points. */
export type TpmLocation =
  | { readonly kind: 'swtpm'; readonly address: SocketAddress }
  | { readonly kind: 'mssim'; readonly host: string; readonly port: number; readonly platformPort: number }
  | { readonly kind: 'device'; readonly path: string };

const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PORT = 2321;

function keyValues(uri: string, text: string, allowed: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (text === '') return out;
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new TpmUriError(uri, `'${part}' is not key=value`);
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (!allowed.includes(k)) throw new TpmUriError(uri, `unknown option '${k}' (allowed: ${allowed.join(', ')})`);
    if (out.has(k)) throw new TpmUriError(uri, `'${k}' given twice`);
    if (v === '') throw new TpmUriError(uri, `'${k}' is empty`);
    out.set(k, v);
  }
  return out;
}

function port(uri: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new TpmUriError(uri, `port '${v}' is not 1..65535`);
  return Number(v);
}

/**
 * Parses a TPM URI (the tpm2-tools TCTI syntax, with `device:` for the
 * kernel device):
 *   swtpm:path=/run/swtpm.sock        swtpm data channel on a Unix socket
 *   swtpm:host=127.0.0.1,port=2321    swtpm data channel on TCP
 *   mssim:host=127.0.0.1,port=2321    Microsoft simulator (platform port = port + 1)
 *   device:/dev/tpmrm0                a TPM character device (device: alone = /dev/tpmrm0)
 */
export function parseTpmUri(uri: string): TpmLocation {
  const colon = uri.indexOf(':');
  if (colon < 0) throw new TpmUriError(uri, 'missing the transport prefix');
  const scheme = uri.slice(0, colon);
  const rest = uri.slice(colon + 1);
  switch (scheme) {
    case 'swtpm': {
      const kv = keyValues(uri, rest, ['path', 'host', 'port']);
      const path = kv.get('path');
      if (path !== undefined) {
        if (kv.has('host') || kv.has('port')) throw new TpmUriError(uri, 'give either path or host/port');
        return { kind: 'swtpm', address: { path } };
      }
      return { kind: 'swtpm', address: { host: kv.get('host') ?? DEFAULT_HOST, port: port(uri, kv.get('port'), DEFAULT_PORT) } };
    }
    case 'mssim': {
      const kv = keyValues(uri, rest, ['host', 'port', 'platform-port']);
      const p = port(uri, kv.get('port'), DEFAULT_PORT);
      return { kind: 'mssim', host: kv.get('host') ?? DEFAULT_HOST, port: p, platformPort: port(uri, kv.get('platform-port'), p + 1) };
    }
    case 'device': {
      const path = rest.startsWith('path=') ? rest.slice(5) : rest;
      if (path === '') return { kind: 'device', path: '/dev/tpmrm0' };
      if (!path.startsWith('/')) throw new TpmUriError(uri, `device path '${path}' is not absolute`);
      return { kind: 'device', path };
    }
    default:
      throw new TpmUriError(uri, `unknown transport '${scheme}'`);
  }
}

export interface OpenTpmOptions extends TpmOptions {
  /** Per-command timeout of the transport. */
  readonly timeoutMs?: number;
  /**
   * Send TPM2_Startup(CLEAR) after connecting (ignoring "already started"):
   * for simulators started without it. Real platforms' firmware does this.
   */
  readonly startup?: boolean;
}

/** The transport for a parsed location. */
export function transportFor(location: TpmLocation, timeoutMs?: number): Transport {
  const t = timeoutMs !== undefined ? { timeoutMs } : {};
  switch (location.kind) {
    case 'swtpm':
      return new SwtpmTransport(location.address, t);
    case 'mssim':
      return new MssimTransport({ host: location.host, port: location.port, platformPort: location.platformPort, ...t });
    case 'device':
      return new DeviceTransport(location.path, t);
  }
}

/**
 * Opens a TPM by URI. An mssim simulator is powered on first (power + NV
 * signals, as tpm2-tss does). Nothing is sent to the other kinds until the
 * first command, so connection errors surface there as TpmTransportError.
 */
export async function openTpm(uri: string, options: OpenTpmOptions = {}): Promise<Tpm> {
  const location = parseTpmUri(uri);
  const transport = transportFor(location, options.timeoutMs);
  const tpm = new Tpm(transport, options);
  try {
    if (transport instanceof MssimTransport) await transport.powerOn();
    if (options.startup) {
      try {
        await tpm.execute(Startup, { startupType: TPM_SU.CLEAR });
      } catch (e) {
        if (!(e instanceof TpmResponseError && e.is(TPM_RC.INITIALIZE))) throw e;
      }
    }
  } catch (e) {
    await tpm.close().catch(() => undefined);
    throw e;
  }
  return tpm;
}
