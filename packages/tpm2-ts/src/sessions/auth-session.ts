import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { marshal } from '../codec/codec.js';
import { hashAlgorithm, type HashAlgorithm } from '../constants/alg.js';
import { TPM_SE } from '../constants/st.js';
import { TpmSessionError } from '../errors.js';
import type { AuthCommandContext, AuthResponseContext, Session } from '../session.js';
import { TPMA_SESSION, type TpmaSession } from '../structures/attributes.js';
import type { TpmsAuthCommand, TpmsAuthResponse } from '../structures/misc.js';

export type AuthSessionType = 'hmac' | 'policy' | 'trial';

export const SESSION_TYPES: Readonly<Record<AuthSessionType, number>> = { hmac: TPM_SE.HMAC, policy: TPM_SE.POLICY, trial: TPM_SE.TRIAL };

/** What StartAuthSession established; see `startAuthSession`. */
export interface AuthSessionState {
  readonly handle: number;
  readonly type: AuthSessionType;
  readonly authHash: number;
  /** KDFa(authHash, bindAuth || salt, "ATH", nonceTPM, nonceCaller) or empty (Part 1 §19.6.8). */
  readonly sessionKey: Uint8Array;
  /** The TPM's nonce from StartAuthSession. */
  readonly nonceTPM: Uint8Array;
  /** Name of the bind entity, when the session is bound (Part 1 §19.6.10). */
  readonly bindName?: Uint8Array;
  readonly attributes?: TpmaSession;
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0);
  return b;
}

/**
 * An authValue as the HMAC key uses it: trailing zero octets removed (Part 1
 * §19.6.4: "the authValue ... with trailing zeros removed"), so `pw` and
 * `pw\0` authorize alike, as they do with a password session.
 */
export function trimAuthValue(v: Uint8Array): Uint8Array {
  let end = v.length;
  while (end > 0 && v[end - 1] === 0) end--;
  return v.subarray(0, end);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * An HMAC or policy session (Part 1 §19.6-19.7). For each command it rolls a
 * fresh nonceCaller, computes
 *   cpHash = H(commandCode || Name1 || Name2 || ... || parameters)
 *   hmac   = HMAC(sessionKey || authValue, cpHash || nonceCaller || nonceTPM || sessionAttributes)
 * and for each response checks
 *   rpHash = H(responseCode || commandCode || parameters)
 *   hmac   = HMAC(sessionKey || authValue, rpHash || nonceTPM' || nonceCaller || sessionAttributes)
 * before adopting nonceTPM' (Part 1 §19.6.17-18). A response whose HMAC does
 * not verify raises TpmSessionError: its parameters must not be trusted.
 *
 * authValue is the authorized entity's: set it with `withAuth(value)` (a view
 * of the same session). It is left out when an HMAC session is bound to the
 * very entity it authorizes (its authValue is already in the session key,
 * Part 1 §19.6.10), and for policy sessions unless PolicyAuthValue was
 * asserted (`authValueNeeded`).
 */
export class AuthSession implements Session {
  readonly handle: number;
  readonly type: AuthSessionType;
  readonly authHash: number;
  readonly needsNames = true;
  /** Policy sessions: set after TPM2_PolicyAuthValue; cleared by PolicyRestart. */
  authValueNeeded = false;
  private readonly hash: HashAlgorithm;
  private readonly sessionKey: Uint8Array;
  private readonly bindName: Uint8Array | undefined;
  private readonly attrs: TpmaSession;
  private nonceTPMValue: Uint8Array;
  private pendingNonceCaller: Uint8Array | undefined;
  private pendingKey: Uint8Array | undefined;
  private endedFlag = false;

  constructor(state: AuthSessionState) {
    const h = hashAlgorithm(state.authHash);
    if (!h) throw new TpmSessionError(`session authHash 0x${state.authHash.toString(16)} is not a hash algorithm`);
    this.hash = h;
    this.handle = state.handle;
    this.type = state.type;
    this.authHash = state.authHash;
    this.sessionKey = state.sessionKey;
    this.nonceTPMValue = state.nonceTPM;
    this.bindName = state.bindName;
    this.attrs = state.attributes ?? { continueSession: true };
  }

  /** The TPM's latest nonce (PolicySecret/PolicySigned take it as nonceTPM). */
  get nonceTPM(): Uint8Array {
    return this.nonceTPMValue;
  }

  /** True once the TPM has closed the session (a command ran with continueSession clear). */
  get ended(): boolean {
    return this.endedFlag;
  }

  /** This session authorizing an entity whose authValue is `authValue`. */
  withAuth(authValue: Uint8Array): Session {
    return {
      handle: this.handle,
      needsNames: true,
      authCommand: (ctx) => this.command(ctx, authValue),
      authResponse: (ctx, resp) => this.response(ctx, resp),
    };
  }

  /** This session with continueSession clear for its next command: the TPM flushes it afterwards. */
  once(authValue: Uint8Array = new Uint8Array(0)): Session {
    return {
      handle: this.handle,
      needsNames: true,
      authCommand: (ctx) => this.command(ctx, authValue, false),
      authResponse: (ctx, resp) => this.response(ctx, resp),
    };
  }

  authCommand(ctx: AuthCommandContext): TpmsAuthCommand {
    return this.command(ctx, new Uint8Array(0));
  }

  authResponse(ctx: AuthResponseContext, auth: TpmsAuthResponse): void {
    this.response(ctx, auth);
  }

  private digest(...parts: Uint8Array[]): Uint8Array {
    const h = createHash(this.hash.nodeName);
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  }

  private hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
    const h = createHmac(this.hash.nodeName, key);
    for (const p of parts) h.update(p);
    return new Uint8Array(h.digest());
  }

  private keyFor(ctx: AuthCommandContext, authValue: Uint8Array): Uint8Array {
    let includeAuth: boolean;
    if (this.type === 'hmac') {
      const authorized = ctx.names[ctx.index];
      includeAuth = !(this.bindName && authorized && equalBytes(authorized, this.bindName));
    } else {
      includeAuth = this.authValueNeeded;
    }
    const auth = includeAuth ? trimAuthValue(authValue) : new Uint8Array(0);
    const key = new Uint8Array(this.sessionKey.length + auth.length);
    key.set(this.sessionKey);
    key.set(auth, this.sessionKey.length);
    return key;
  }

  private command(ctx: AuthCommandContext, authValue: Uint8Array, continueSession = this.attrs.continueSession ?? true): TpmsAuthCommand {
    if (this.endedFlag) throw new TpmSessionError(`session 0x${this.handle.toString(16)} has ended`);
    const sessionAttributes: TpmaSession = { ...this.attrs, continueSession };
    const nonceCaller = new Uint8Array(randomBytes(this.hash.size));
    const cpHash = this.digest(u32(ctx.commandCode), ...ctx.names, ctx.parameters);
    const key = this.keyFor(ctx, authValue);
    const hmac = this.hmac(key, cpHash, nonceCaller, this.nonceTPMValue, marshal(TPMA_SESSION, sessionAttributes));
    this.pendingNonceCaller = nonceCaller;
    this.pendingKey = key;
    return { sessionHandle: this.handle, nonce: nonceCaller, sessionAttributes, hmac };
  }

  private response(ctx: AuthResponseContext, resp: TpmsAuthResponse): void {
    const nonceCaller = this.pendingNonceCaller;
    const key = this.pendingKey;
    this.pendingNonceCaller = undefined;
    this.pendingKey = undefined;
    if (!nonceCaller || !key) throw new TpmSessionError('response authorization without a command');
    // Part 1 §19.6.18: rpHash covers responseCode (always TPM_RC_SUCCESS here), commandCode and the parameters.
    const rpHash = this.digest(u32(0), u32(ctx.commandCode), ctx.parameters);
    const expected = this.hmac(key, rpHash, resp.nonce, nonceCaller, marshal(TPMA_SESSION, resp.sessionAttributes));
    if (!equalBytes(expected, resp.hmac)) {
      throw new TpmSessionError(`response HMAC of session 0x${this.handle.toString(16)} does not verify: the response may have been tampered with`);
    }
    if (resp.nonce.length < 16) throw new TpmSessionError(`the TPM's response nonce is only ${resp.nonce.length} bytes`);
    this.nonceTPMValue = resp.nonce;
    if (this.type !== 'hmac') this.authValueNeeded = false;
    if (!resp.sessionAttributes.continueSession) this.endedFlag = true;
  }
}
