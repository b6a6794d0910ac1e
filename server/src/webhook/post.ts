import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { serialLookup } from './serial-lookup.js';

/** Every webhook call's name lookups, one at a time (they share libuv's pool with the signature checks). */
const lookup = serialLookup();

export interface PostOptions {
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** Extra CA certificates (PEM) to trust for https, besides the system ones. */
  readonly ca?: string;
}

/** The status code, or why no response came. */
export type PostResult = { readonly ok: true; readonly status: number } | { readonly ok: false; readonly error: string };

/**
 * POSTs `body` once. Resolves (never rejects) with the response status or
 * the network error; the response body is read and discarded, at most
 * 64 KiB of it. The whole attempt, connection included, is bounded by `timeoutMs`.
 */
export function postOnce(url: URL, body: string, options: PostOptions): Promise<PostResult> {
  return new Promise((resolve) => {
    const payload = Buffer.from(body, 'utf8');
    const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
    let settled = false;
    const done = (r: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const req = request(
      url,
      {
        method: 'POST',
        lookup,
        headers: { ...options.headers, 'content-length': String(payload.length) },
        ...(url.protocol === 'https:' && options.ca !== undefined ? { ca: options.ca } : {}),
      },
      (res) => {
        let seen = 0;
        res.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > 65_536) res.destroy();
        });
        res.on('end', () => done({ ok: true, status: res.statusCode ?? 0 }));
        res.on('error', () => done({ ok: true, status: res.statusCode ?? 0 }));
        res.on('close', () => done({ ok: true, status: res.statusCode ?? 0 }));
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`no response within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    req.on('error', (err) => done({ ok: false, error: err.message }));
    req.end(payload);
  });
}
