import { randomBytes } from 'node:crypto';
import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { DYNSEC_TOPIC, dynsecResponses, type DynsecCommand, type DynsecResponse } from './messages.js';

/** A command the plugin refused (its `error` text), or no answer in time. */
export class DynsecError extends Error {
  constructor(
    readonly command: string,
    readonly reason: string,
  ) {
    super(`dynamic-security ${command}: ${reason}`);
    this.name = 'DynsecError';
  }
}

/** The reason given to commands whose answer cannot come any more: the session ended (the broker may have restarted it because rights changed). */
export const LINK_LOST = 'the session with the broker ended before the answer';

/** How commands reach the broker: a QoS 1 publish on the MQTT link. */
export type ControlPublisher = (topic: string, payload: Buffer) => Promise<void>;

interface Pending {
  readonly command: string;
  readonly resolve: (r: DynsecResponse) => void;
}

/** Commands per control message: the plugin rewrites its whole configuration file once per message that changes it. */
const MAX_BATCH = 200;

/**
 * Sends dynamic-security commands and pairs each answer with its command by
 * `correlationData` (random per client, so several replicas can share the
 * response topic). The link must feed every message of the response topic
 * to `handleResponse`.
 */
export class DynsecClient {
  readonly #pending = new Map<string, Pending>();
  readonly #prefix = randomBytes(6).toString('hex');
  #next = 0;

  constructor(
    private readonly publish: ControlPublisher,
    private readonly timeoutMs = 15_000,
  ) {}

  /** Runs commands (in order, in messages of up to 200) and returns their responses in the same order; never throws for a refused command. */
  async run(commands: readonly DynsecCommand[]): Promise<DynsecResponse[]> {
    const out: DynsecResponse[] = [];
    for (let i = 0; i < commands.length; i += MAX_BATCH) out.push(...(await this.#batch(commands.slice(i, i + MAX_BATCH))));
    return out;
  }

  /** Runs commands and throws DynsecError for the first refused one whose error is not `tolerated`. */
  async runOk(commands: readonly DynsecCommand[], tolerated: (r: DynsecResponse) => boolean = () => false): Promise<DynsecResponse[]> {
    const responses = await this.run(commands);
    const failed = responses.find((r) => r.error !== undefined && !tolerated(r));
    if (failed !== undefined) throw new DynsecError(failed.command, failed.error!);
    return responses;
  }

  /** One command whose `data` must match `schema`. */
  async query<S extends TSchema>(command: DynsecCommand, schema: S): Promise<Static<S>> {
    const [r] = await this.run([command]);
    if (r!.error !== undefined) throw new DynsecError(r!.command, r!.error);
    const validator = compiled(schema);
    if (!validator.Check(r!.data)) throw new DynsecError(r!.command, 'the answer does not have the expected shape');
    return r!.data as Static<S>;
  }

  /** Takes a message of the response topic (responses of other clients are ignored). */
  handleResponse(payload: Uint8Array): void {
    const message = dynsecResponses.decode(payload);
    if (message === undefined) return;
    for (const r of message.responses) {
      if (r.correlationData === undefined) continue;
      const p = this.#pending.get(r.correlationData);
      if (p === undefined) continue;
      this.#pending.delete(r.correlationData);
      p.resolve(r);
    }
  }

  /** Fails every command waiting for an answer (the link is closing). */
  abandon(reason: string): void {
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      p.resolve({ command: p.command, error: reason });
    }
  }

  async #batch(commands: readonly DynsecCommand[]): Promise<DynsecResponse[]> {
    const ids = commands.map(() => `${this.#prefix}-${++this.#next}`);
    const answers = commands.map(
      (c, i) =>
        new Promise<DynsecResponse>((resolve) => {
          this.#pending.set(ids[i]!, { command: c.command, resolve });
        }),
    );
    const timer = setTimeout(() => {
      for (let i = 0; i < ids.length; i++) {
        const p = this.#pending.get(ids[i]!);
        if (p === undefined) continue;
        this.#pending.delete(ids[i]!);
        p.resolve({ command: p.command, error: `no answer within ${this.timeoutMs} ms (is the dynamic-security plugin loaded, and is this client allowed ${DYNSEC_TOPIC}?)` });
      }
    }, this.timeoutMs);
    try {
      await this.publish(DYNSEC_TOPIC, Buffer.from(JSON.stringify({ commands: commands.map((c, i) => ({ ...c, correlationData: ids[i] })) })));
    } catch (err) {
      this.#abandonIds(ids, `could not send: ${(err as Error).message}`);
    }
    try {
      return await Promise.all(answers);
    } finally {
      clearTimeout(timer);
    }
  }

  #abandonIds(ids: readonly string[], reason: string): void {
    for (const id of ids) {
      const p = this.#pending.get(id);
      if (p === undefined) continue;
      this.#pending.delete(id);
      p.resolve({ command: p.command, error: reason });
    }
  }
}

const validators = new WeakMap<TSchema, ReturnType<typeof Compile>>();
function compiled(schema: TSchema): ReturnType<typeof Compile> {
  let v = validators.get(schema);
  if (v === undefined) {
    v = Compile(schema);
    validators.set(schema, v);
  }
  return v;
}
