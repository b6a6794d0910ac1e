import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header carrying the body's HMAC. */
export const SIGNATURE_HEADER = 'x-vigil-signature';

/**
 * `sha256=<hex>`: HMAC-SHA256 (RFC 2104) keyed with the shared webhook
 * secret over the exact bytes of the request body, the scheme GitHub's
 * webhooks popularised, so receivers can reuse their verification code.
 */
export function signWebhookBody(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** For receivers: true if `header` is the signature of `body` under `secret` (constant-time compare). */
export function verifyWebhookSignature(secret: string, body: string | Uint8Array, header: string | undefined): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(signWebhookBody(secret, body));
  const actual = Buffer.from(header);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
