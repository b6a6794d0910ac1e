import type { TpmHandle } from '../command.js';
import { NV_Read, NV_ReadPublic, NV_Write } from '../commands/nv.js';
import { TPM_RH } from '../constants/handles.js';
import { TPM_PT } from '../constants/st.js';
import type { Session } from '../session.js';
import type { TpmsNvPublic } from '../structures/misc.js';
import type { CommandRunner } from '../tpm.js';
import { getProperty } from './capabilities.js';

/** Used when a TPM does not report TPM_PT_NV_BUFFER_MAX: the smallest MAX_NV_BUFFER_SIZE the PC Client profile allows. */
const FALLBACK_NV_BUFFER = 512;

export interface NvAccess {
  /**
   * The authorization handle of NV_Read/NV_Write: the index itself
   * (authRead/authWrite), TPM_RH_OWNER or TPM_RH_PLATFORM. By default it is
   * chosen from the index's attributes in that order, so an EK certificate
   * index with ownerRead but no authRead is still read with empty auth.
   */
  readonly authHandle?: TpmHandle;
  /** Session for authHandle (default: empty password). */
  readonly session?: Session;
}

/** TPM_PT_NV_BUFFER_MAX: the most NV_Read/NV_Write move per call. */
export async function nvBufferMax(tpm: CommandRunner): Promise<number> {
  const v = await getProperty(tpm, TPM_PT.NV_BUFFER_MAX);
  return v && v > 0 ? Math.min(v, 4096) : FALLBACK_NV_BUFFER;
}

/** An NV index's public area and Name. */
export async function nvReadPublic(tpm: CommandRunner, index: number): Promise<{ nvPublic: TpmsNvPublic; name: Uint8Array }> {
  const r = await tpm.execute(NV_ReadPublic, { nvIndex: index });
  return { nvPublic: r.nvPublic, name: r.nvName };
}

/**
 * Reads an NV index (all of it by default) in chunks of TPM_PT_NV_BUFFER_MAX
 * bytes (Part 3 §31.13: NV_Read moves at most that much). The size comes
 * from the index's public area, not from the caller.
 */
export async function readNv(tpm: CommandRunner, index: number, access: NvAccess = {}, range?: { offset: number; size: number }): Promise<Uint8Array> {
  const { nvPublic, name } = await nvReadPublic(tpm, index);
  const start = range?.offset ?? 0;
  const size = range?.size ?? nvPublic.dataSize - start;
  if (start < 0 || size < 0 || start + size > nvPublic.dataSize) {
    throw new RangeError(`NV index 0x${index.toString(16)} holds ${nvPublic.dataSize} bytes; cannot read ${size} at ${start}`);
  }
  const chunk = await nvBufferMax(tpm);
  const out = new Uint8Array(size);
  const nvIndex = { handle: index, name };
  const a = nvPublic.attributes;
  const authHandle = access.authHandle ?? (a.authRead ? nvIndex : a.ownerRead ? TPM_RH.OWNER : a.ppRead ? TPM_RH.PLATFORM : nvIndex);
  for (let off = 0; off < size; ) {
    const n = Math.min(chunk, size - off);
    const r = await tpm.execute(NV_Read, { authHandle, nvIndex, size: n, offset: start + off }, access.session ? [access.session] : []);
    if (r.data.length !== n) throw new RangeError(`NV_Read returned ${r.data.length} bytes, asked for ${n}`);
    out.set(r.data, off);
    off += n;
  }
  return out;
}

/** Writes `data` at `offset` in chunks of TPM_PT_NV_BUFFER_MAX bytes. */
export async function writeNv(tpm: CommandRunner, index: number, data: Uint8Array, access: NvAccess = {}, offset = 0): Promise<void> {
  const { nvPublic, name } = await nvReadPublic(tpm, index);
  const chunk = await nvBufferMax(tpm);
  const nvIndex = { handle: index, name };
  const a = nvPublic.attributes;
  const authHandle = access.authHandle ?? (a.authWrite ? nvIndex : a.ownerWrite ? TPM_RH.OWNER : a.ppWrite ? TPM_RH.PLATFORM : nvIndex);
  for (let off = 0; off < data.length; off += chunk) {
    await tpm.execute(
      NV_Write,
      { authHandle, nvIndex, data: data.subarray(off, off + chunk), offset: offset + off },
      access.session ? [access.session] : [],
    );
  }
}
