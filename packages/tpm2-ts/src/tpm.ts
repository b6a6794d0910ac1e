import { marshal } from './codec/codec.js';
import { TpmUnmarshalError } from './codec/errors.js';
import { type Command, type CommandInput, type CommandOutput, decodeResponseParameters, frameCommand, handleValue, parseResponseFrame, responseCode, type TpmHandle } from './command.js';
import { handleType, nameIsHandle, TPM_HT } from './constants/handles.js';
import { isRetryable } from './constants/rc.js';
import { NV_ReadPublic } from './commands/nv.js';
import { ReadPublic } from './commands/object.js';
import { TpmProtocolError, TpmResponseError } from './errors.js';
import type { Session } from './session.js';
import { passwordSession } from './sessions/password.js';
import type { Transport } from './transport.js';

export interface RetryPolicy {
  /** Attempts in all, including the first. */
  readonly attempts: number;
  /** First back-off delay; doubles each retry up to `maxDelayMs`. */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

export interface TpmOptions {
  /** Retry policy for TPM_RC_RETRY, TPM_RC_YIELDED and TPM_RC_TESTING (Part 3 §5.4: the TPM did not act on the command). */
  readonly retry?: RetryPolicy;
  /**
   * Resolves the Name of an object or NV handle given as a bare number, for
   * sessions that need Names (HMAC, policy). Defaults to asking the TPM
   * (ReadPublic / NV_ReadPublic).
   */
  readonly resolveName?: (tpm: CommandRunner, handle: number) => Promise<Uint8Array>;
}

/** Something that runs commands: a `Tpm`, or the unqueued runner `Tpm` hands to `resolveName`. */
export interface CommandRunner {
  execute<C extends Command>(cmd: C, input: CommandInput<C>, sessions?: readonly Session[]): Promise<CommandOutput<C>>;
}

/**
 * The default `resolveName`: asks the TPM. An object's Name comes from
 * TPM2_ReadPublic, an NV index's from TPM2_NV_ReadPublic (Part 1 §16).
 * Neither needs authorization, so they cannot recurse into sessions.
 */
export async function resolveNameFromTpm(tpm: CommandRunner, handle: number): Promise<Uint8Array> {
  const t = handleType(handle);
  if (t === TPM_HT.NV_INDEX) return (await tpm.execute(NV_ReadPublic, { nvIndex: handle })).nvName;
  if (t === TPM_HT.TRANSIENT || t === TPM_HT.PERSISTENT) return (await tpm.execute(ReadPublic, { objectHandle: handle })).name;
  throw new Error(`cannot resolve the Name of handle 0x${handle.toString(16)}: not an object or NV index`);
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, initialDelayMs: 10, maxDelayMs: 1000 };

function handleName(handle: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, handle >>> 0);
  return b;
}

/**
 * A connection to one TPM. `execute` runs any command definition: it
 * marshals the handles and parameters, builds the authorization area from the
 * sessions, sends it, retries when the TPM says so, checks the response
 * authorizations and unmarshals the response. Commands run one at a time.
 */
export class Tpm implements CommandRunner {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly retry: RetryPolicy;
  private readonly resolveName: (tpm: CommandRunner, handle: number) => Promise<Uint8Array>;
  /** Runs commands without queueing, for use while a queued command is already running (name resolution). */
  private readonly inner: CommandRunner = { execute: (cmd, input, sessions = []) => this.run(cmd, input, sessions) };

  constructor(
    readonly transport: Transport,
    options: TpmOptions = {},
  ) {
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.resolveName = options.resolveName ?? resolveNameFromTpm;
  }

  /**
   * Runs `cmd`. Handles that need authorization get `sessions[i]` in order;
   * when fewer sessions are given than the command needs, the rest use an
   * empty password. Extra sessions (audit, encryption) follow.
   */
  execute<C extends Command>(cmd: C, input: CommandInput<C>, sessions: readonly Session[] = []): Promise<CommandOutput<C>> {
    const run = this.queue.then(() => this.run(cmd, input, sessions));
    this.queue = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.transport.close();
  }

  private async run<C extends Command>(cmd: C, input: CommandInput<C>, given: readonly Session[]): Promise<CommandOutput<C>> {
    const args = input as unknown as Record<string, unknown>;
    const handleArgs = cmd.handleNames.map((n) => args[n] as TpmHandle);
    const handles = handleArgs.map(handleValue);
    const sessions = [...given];
    while (sessions.length < cmd.authCount) sessions.push(passwordSession());
    const parameters = marshal(cmd.parameterCodec, input as never);
    const names = sessions.some((s) => s.needsNames) ? await this.namesOf(handleArgs) : [];

    for (let attempt = 1, delay = this.retry.initialDelayMs; ; attempt++, delay = Math.min(delay * 2, this.retry.maxDelayMs)) {
      const auths = sessions.map((s, index) => s.authCommand({ commandCode: cmd.code, names, parameters, index }));
      const response = await this.transport.send(frameCommand(cmd.code, handles, auths, parameters));
      const rc = responseCode(cmd.name, response);
      if (rc !== 0 && isRetryable(rc) && attempt < this.retry.attempts) {
        await new Promise((r) => setTimeout(r, delay));
        continue;
      }
      if (rc !== 0) throw new TpmResponseError(cmd.code, rc);
      try {
        const frame = parseResponseFrame(cmd, response, sessions.length);
        // Check every response authorization before trusting any parameter (Part 1 §19.6.17).
        sessions.forEach((s, i) => s.authResponse({ commandCode: cmd.code, parameters: frame.parameters }, frame.auths[i]!));
        const out = decodeResponseParameters(cmd, frame.parameters) as Record<string, unknown>;
        cmd.responseHandles.forEach((n, i) => {
          out[n] = frame.handles[i];
        });
        return out as CommandOutput<C>;
      } catch (e) {
        if (e instanceof TpmUnmarshalError) throw new TpmProtocolError(cmd.name, e.message, { cause: e });
        throw e;
      }
    }
  }

  private async namesOf(handles: readonly TpmHandle[]): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for (const h of handles) {
      if (typeof h !== 'number') out.push(h.name);
      else if (nameIsHandle(h)) out.push(handleName(h));
      else out.push(await this.resolveName(this.inner, h));
    }
    return out;
  }
}
