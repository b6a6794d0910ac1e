import { createServer } from 'node:net';

function bind(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, host, () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : undefined));
    });
  });
}

/**
 * Two consecutive free TCP ports on `host` (swtpm's TCP control channel is
 * expected at data port + 1 by tpm2-tools' swtpm TCTI). Best effort: another
 * process may take them before swtpm binds, so callers retry.
 */
export async function freePortPair(host: string): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const p = await bind(0, host);
    if (p !== undefined && p < 65535 && (await bind(p + 1, host)) !== undefined) return p;
  }
  throw new Error(`no pair of consecutive free TCP ports found on ${host}`);
}
