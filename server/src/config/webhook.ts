import Type from 'typebox';

/**
 * The `webhook:` section of the server configuration (used by the webhook
 * dispatcher, `../webhook/`). Every revocation is POSTed to `url` with an
 * HMAC-SHA256 signature of the body; failed calls are retried with
 * exponential backoff from the outbox in the store, surviving restarts.
 */
export const WebhookConfig = Type.Object(
  {
    url: Type.String({ maxLength: 2048, default: '', description: 'Where to POST revocation events (https://...). Empty: no webhook.' }),
    secret: Type.String({
      maxLength: 1024,
      default: '',
      description: 'HMAC-SHA256 key for the X-Vigil-Signature header (at least 16 characters; required with a url). Prefer VIGIL_WEBHOOK_SECRET over writing it here.',
    }),
    caFile: Type.String({ maxLength: 4096, default: '', description: 'PEM file of CA certificates to trust for the webhook server besides the system ones. Relative to the data directory.' }),
    allowPlainHttp: Type.Boolean({ default: false, description: 'Allow an http:// url (the body is then readable on the network; the signature still proves who sent it).' }),
    timeoutSeconds: Type.Number({ minimum: 0.1, maximum: 300, default: 10, description: 'Time allowed for one delivery attempt.' }),
    maxAttempts: Type.Integer({ minimum: 1, maximum: 1000, default: 12, description: 'Attempts before a call is given up (audited as webhook.failed).' }),
    initialBackoffSeconds: Type.Number({ minimum: 0.01, maximum: 3600, default: 1, description: 'Wait before the first retry; doubled after each failure (with jitter).' }),
    maxBackoffSeconds: Type.Number({ minimum: 0.01, maximum: 86_400, default: 3600, description: 'Longest wait between two attempts.' }),
  },
  { additionalProperties: false, default: {}, description: 'Signed webhook calls for revocations.' },
);
