import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { ConfigError } from '../config/index.js';
import type { ServerConfig } from '../config/index.js';
import type { DataDir } from '../datadir.js';
import type { WebhookSettings } from './dispatcher.js';

/**
 * The `webhook:` configuration checked and made ready, or undefined when no
 * URL is set. An http:// URL needs `allowPlainHttp`; a secret of at least
 * 16 characters is required; `caFile` is read now.
 * @throws ConfigError naming the key
 */
export async function webhookSettings(config: ServerConfig, paths: DataDir): Promise<WebhookSettings | undefined> {
  const w = config.webhook;
  if (w.url === '') return undefined;
  let url: URL;
  try {
    url = new URL(w.url);
  } catch {
    throw new ConfigError('webhook.url', 'configuration', 'not a URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && w.allowPlainHttp)) {
    throw new ConfigError('webhook.url', 'configuration', url.protocol === 'http:' ? 'http:// needs webhook.allowPlainHttp: true' : 'must be https://');
  }
  if (w.secret.length < 16) throw new ConfigError('webhook.secret', 'configuration', 'at least 16 characters are required with a webhook url');
  let ca: string | undefined;
  if (w.caFile !== '') {
    const file = isAbsolute(w.caFile) ? w.caFile : join(paths.root, w.caFile);
    ca = await readFile(file, 'utf8');
  }
  return {
    url,
    secret: w.secret,
    ...(ca !== undefined ? { ca } : {}),
    timeoutMs: Math.round(w.timeoutSeconds * 1000),
    maxAttempts: w.maxAttempts,
    initialBackoffMs: Math.round(w.initialBackoffSeconds * 1000),
    maxBackoffMs: Math.round(w.maxBackoffSeconds * 1000),
  };
}
