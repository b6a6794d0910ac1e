import { type Codec, UINT32 } from './codec/codec.js';
import { type Fields, type StructOf, struct } from './codec/combinators.js';
import { Reader } from './codec/reader.js';
import { Writer } from './codec/writer.js';
import { TPM_ST } from './constants/st.js';
import { TpmProtocolError, TpmResponseError } from './errors.js';
import { TPMS_AUTH_COMMAND, TPMS_AUTH_RESPONSE, type TpmsAuthCommand, type TpmsAuthResponse } from './structures/misc.js';

/**
 * Whether a command handle needs an authorization session (Part 3 marks these
 * "@" in the handle area: "Auth Index: 1", "Auth Role: USER/ADMIN/DUP").
 */
export type HandleAuth = 'auth' | 'none';

/**
 * A TPM 2.0 command, declared the way Part 3 tables declare it: the handle
 * area, the parameter area, the response handle area and the response
 * parameter area. `Tpm.execute` marshals any command from its definition;
 * no command has hand-written byte handling.
 */
export interface CommandDefinition<
  H extends Record<string, HandleAuth>,
  P extends Fields,
  RH extends readonly string[],
  R extends Fields,
> {
  /** `TPM2_Quote` */
  readonly name: string;
  /** TPM_CC */
  readonly code: number;
  /** Handle area in order; values say which need an authorization session. */
  readonly handles: H;
  readonly parameters: P;
  /** Response handle area (at most one handle in the current spec). */
  readonly responseHandles: RH;
  readonly response: R;
}

export interface Command<
  H extends Record<string, HandleAuth> = Record<string, HandleAuth>,
  P extends Fields = Fields,
  RH extends readonly string[] = readonly string[],
  R extends Fields = Fields,
> extends CommandDefinition<H, P, RH, R> {
  readonly handleNames: readonly (keyof H & string)[];
  /** How many handles need authorization (they come first in the handle area, Part 1 §18.7). */
  readonly authCount: number;
  readonly parameterCodec: Codec<StructOf<P>>;
  readonly responseCodec: Codec<StructOf<R>>;
}

/** A handle argument: a bare handle, or a handle with its Name (needed by HMAC/policy sessions for cpHash). */
export type TpmHandle = number | { readonly handle: number; readonly name: Uint8Array };

/** The argument object of a command: its handles and its parameters, by name. */
export type CommandInput<C> =
  C extends Command<infer H, infer P, readonly string[], Fields> ? { readonly [K in keyof H]: TpmHandle } & StructOf<P> : never;

/** The result of a command: its response handles and response parameters, by name. */
export type CommandOutput<C> =
  C extends Command<Record<string, HandleAuth>, Fields, infer RH, infer R> ? { readonly [K in RH[number]]: number } & StructOf<R> : never;

/** Declares a command. */
export function command<
  const H extends Record<string, HandleAuth>,
  P extends Fields,
  const RH extends readonly string[],
  R extends Fields,
>(def: CommandDefinition<H, P, RH, R>): Command<H, P, RH, R> {
  const handleNames = Object.keys(def.handles) as (keyof H & string)[];
  const authFlags = handleNames.map((n) => def.handles[n] === 'auth');
  const authCount = authFlags.filter(Boolean).length;
  // Part 1 §18.7: handles needing authorization precede those that do not.
  if (authFlags.slice(0, authCount).includes(false)) {
    throw new Error(`${def.name}: authorized handles must come first`);
  }
  return {
    ...def,
    handleNames,
    authCount,
    parameterCodec: struct(`${def.name} parameters`, def.parameters),
    responseCodec: struct(`${def.name} response`, def.response),
  };
}

export function handleValue(h: TpmHandle): number {
  return typeof h === 'number' ? h : h.handle;
}

/**
 * Assembles a command buffer (Part 1 §18.2, Part 3 §5.2): header (tag, size,
 * code), handle area, authorization area (when there are sessions), parameters.
 */
export function frameCommand(code: number, handles: readonly number[], auths: readonly TpmsAuthCommand[], parameters: Uint8Array): Uint8Array {
  const w = new Writer(10 + handles.length * 4 + parameters.length + auths.length * 80);
  w.u16(auths.length > 0 ? TPM_ST.SESSIONS : TPM_ST.NO_SESSIONS);
  w.u32(0); // commandSize, patched below once the whole buffer is known
  w.u32(code);
  for (const h of handles) UINT32.encode(w, h);
  if (auths.length > 0) {
    const fillAuthSize = w.sizeSlot(4);
    for (const a of auths) TPMS_AUTH_COMMAND.encode(w, a);
    fillAuthSize();
  }
  w.bytes(parameters);
  const out = w.finish();
  new DataView(out.buffer).setUint32(2, out.length);
  return out;
}

/** A response taken apart, before its parameters are decoded. */
export interface ResponseFrame {
  readonly handles: number[];
  /** Raw response parameter area (for rpHash). */
  readonly parameters: Uint8Array;
  readonly auths: TpmsAuthResponse[];
}

/** Response code of a response buffer, or a TpmProtocolError if the header itself is malformed. */
export function responseCode(commandName: string, response: Uint8Array): number {
  if (response.length < 10) throw new TpmProtocolError(commandName, `response of ${response.length} bytes is shorter than its 10-byte header`);
  const v = new DataView(response.buffer, response.byteOffset, response.byteLength);
  const size = v.getUint32(2);
  if (size !== response.length) throw new TpmProtocolError(commandName, `header says ${size} bytes, got ${response.length}`);
  return v.getUint32(6);
}

/**
 * Splits a success response (Part 3 §5.3): header, response handles, then
 * either the parameters alone (TPM_ST_NO_SESSIONS) or parameterSize,
 * parameters and one TPMS_AUTH_RESPONSE per session (TPM_ST_SESSIONS).
 */
export function parseResponseFrame(cmd: Command, response: Uint8Array, sessionCount: number): ResponseFrame {
  const code = responseCode(cmd.name, response);
  if (code !== 0) throw new TpmResponseError(cmd.code, code);
  const r = new Reader(response);
  return r.within(`${cmd.name} response`, () => {
    const tag = r.u16();
    r.u32(); // size, checked above
    r.u32(); // response code
    const expected = sessionCount > 0 ? TPM_ST.SESSIONS : TPM_ST.NO_SESSIONS;
    if (tag !== expected) r.fail(`tag 0x${tag.toString(16)}, expected 0x${expected.toString(16)}`, 0);
    const handles: number[] = [];
    for (let i = 0; i < cmd.responseHandles.length; i++) handles.push(r.u32());
    if (sessionCount === 0) {
      const parameters = r.bytesOf(r.remaining);
      return { handles, parameters, auths: [] };
    }
    const parameterSize = r.u32();
    const parameters = r.bytesOf(parameterSize);
    const auths: TpmsAuthResponse[] = [];
    for (let i = 0; i < sessionCount; i++) auths.push(r.within(`auth[${i}]`, () => TPMS_AUTH_RESPONSE.decode(r)));
    r.expectEnd();
    return { handles, parameters, auths };
  });
}

/** Decodes a response parameter area with the command's response codec; it must be consumed exactly. */
export function decodeResponseParameters<R extends Fields>(cmd: Command<Record<string, HandleAuth>, Fields, readonly string[], R>, parameters: Uint8Array): StructOf<R> {
  const r = new Reader(parameters);
  const v = r.within(cmd.responseCodec.name, () => cmd.responseCodec.decode(r));
  r.expectEnd();
  return v;
}
