import type { Logger } from '../log.js';
import type { Store, WebhookDelivery } from '../store/index.js';
import { retryDelayMs } from './backoff.js';
import { postOnce, type PostResult } from './post.js';
import { SIGNATURE_HEADER, signWebhookBody } from './signature.js';

export interface WebhookSettings {
  readonly url: URL;
  readonly secret: string;
  readonly ca?: string;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

/** Deliveries in flight at once. */
const CONCURRENCY = 4;
/** Longest sleep between two looks at the outbox (another process may have enqueued). */
const MAX_IDLE_MS = 30_000;

/**
 * Delivers the webhook outbox: each due call is POSTed with its
 * HMAC-SHA256 signature; a 2xx response marks it delivered, anything else
 * (another status, a network error, a timeout) schedules a retry with
 * exponential backoff, until `maxAttempts`, after which it is given up
 * (recorded and audited). It runs beside the pipeline and is only ever
 * woken by it: a slow or dead webhook receiver delays nothing else. The
 * outbox is in the store, so pending calls survive a restart.
 */
export class WebhookDispatcher {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;
  readonly enabled = true;

  constructor(
    private readonly store: Store,
    private readonly settings: WebhookSettings,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.wake();
  }

  /** Something was enqueued (or may be due): look at the outbox now. */
  wake(): void {
    if (this.#closed) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#running = this.#drain()
      .catch((err: unknown) => this.log.error({ err }, 'webhook dispatch failed'))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.wake();
        } else {
          void this.#sleep();
        }
      });
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  async #sleep(): Promise<void> {
    if (this.#closed) return;
    const next = await this.store.nextWebhookDue().catch(() => null);
    const wait = next === null ? MAX_IDLE_MS : Math.max(0, Math.min(MAX_IDLE_MS, next - this.now()));
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.wake(), wait);
    this.#timer.unref();
  }

  async #drain(): Promise<void> {
    for (;;) {
      if (this.#closed) return;
      const due = await this.store.dueWebhooks(this.now(), CONCURRENCY * 4);
      if (due.length === 0) return;
      for (let i = 0; i < due.length; i += CONCURRENCY) {
        await Promise.all(due.slice(i, i + CONCURRENCY).map((d) => this.#deliver(d)));
        if (this.#closed) return;
      }
    }
  }

  async #deliver(d: WebhookDelivery): Promise<void> {
    const s = this.settings;
    const result: PostResult = await postOnce(s.url, d.body, {
      headers: {
        'content-type': 'application/json',
        'user-agent': 'vigil-server/0.1.0',
        'x-vigil-event': d.kind,
        'x-vigil-delivery': d.eventKey,
        [SIGNATURE_HEADER]: signWebhookBody(s.secret, d.body),
      },
      timeoutMs: s.timeoutMs,
      ...(s.ca !== undefined ? { ca: s.ca } : {}),
    });
    const at = this.now();
    if (result.ok && result.status >= 200 && result.status < 300) {
      await this.store.recordWebhookAttempt({ id: d.id, at, outcome: 'delivered' });
      this.log.info({ delivery: d.eventKey, status: result.status, attempts: d.attempts + 1 }, 'webhook delivered');
      return;
    }
    const error = result.ok ? `HTTP ${result.status}` : result.error;
    const attempts = d.attempts + 1;
    if (attempts >= s.maxAttempts) {
      await this.store.recordWebhookAttempt({ id: d.id, at, outcome: 'failed', error: `gave up after ${attempts} attempts: ${error}` });
      this.log.error({ delivery: d.eventKey, attempts, error }, 'webhook given up');
      return;
    }
    const nextAttemptAt = at + retryDelayMs(attempts, s.initialBackoffMs, s.maxBackoffMs);
    await this.store.recordWebhookAttempt({ id: d.id, at, outcome: 'retry', error, nextAttemptAt });
    this.log.warn({ delivery: d.eventKey, attempts, error, retryInMs: nextAttemptAt - at }, 'webhook failed; will retry');
  }
}
