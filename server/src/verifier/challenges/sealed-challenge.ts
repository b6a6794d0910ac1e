import { timingSafeEqual } from 'node:crypto';
import { randomPublicBytes, type PcrSelection } from '@vigil/protocol';
import type { TpmClockState } from '../../store/index.js';
import { HmacSha256 } from './hmac-sha256.js';

/**
 * What the answer to a challenge is checked against (steps 3, 5, 6 and 8 of
 * the pipeline): the nonce the quote must carry, the PCR selection it must
 * quote, the expiry, and the device's TPM clock when the challenge was
 * issued (the freshness anchor of the clock check).
 */
export interface IssuedChallenge {
  readonly id: string;
  readonly deviceId: string;
  /** 32 bytes; the quote's qualifyingData (TPMS_ATTEST.extraData, Part 3 §18.4). */
  readonly nonce: Uint8Array;
  readonly pcrSelection: PcrSelection;
  readonly expiresAt: number;
  /** The device's TPM clock as the store held it at issue; null before its first verified quote. */
  readonly tpmClockAtIssue: TpmClockState | null;
}

/** What a challenge needs to be sealed. */
export interface ChallengeTerms {
  readonly deviceId: string;
  readonly pcrSelection: PcrSelection;
  readonly expiresAt: number;
  readonly tpmClockAtIssue: TpmClockState | null;
}

/** What an id presented by a device turned out to be. */
export type OpenedChallenge =
  | { readonly kind: 'sealed'; readonly challenge: IssuedChallenge }
  /** Not in the sealed form: a challenge stored when issued (before sealed challenges); the store judges it. */
  | { readonly kind: 'stored' }
  /** Not made with this key (forged, altered, or sealed by a server with another key). */
  | { readonly kind: 'unknown' }
  /** Made with this key for another device. */
  | { readonly kind: 'other-device' };

/** Format of the sealed id (first byte). */
const VERSION = 1;
/** PCR banks in the order of their presence bits. */
const BANKS = ['sha1', 'sha256', 'sha384', 'sha512'] as const;
const FLAG_ANCHOR = 1;
const BANK_FLAG_SHIFT = 1;
const HEAD = 12; // version 1, expiry 6, flags 1, random 4
const ANCHOR = 16; // clock 8, resetCount 4, restartCount 4
const MASK = 3; // PCRs 0-23
const TAG_ISSUED = 6;
const TAG_DEVICE = 10;
/** Ids of stored challenges are at most 28 characters (`timeOrderedId`); a sealed one at least 38. */
const STORED_MAX_CHARS = 32;
/** Domain separation of the two MACs made with the one key: the first byte MACed. */
const DOMAIN = { issued: Buffer.of(1), device: Buffer.of(2) } as const;

/**
 * Sealed (self-authenticating) challenges: the challenge id carries what
 * the verifier needs to check the answer (expiry, PCR selection, the TPM
 * clock anchor) under a MAC, and the nonce is a MAC over the id and the
 * device, so nothing is written when a challenge is issued and any verifier
 * holding the key can check the answer (design brief, "Beyond one machine":
 * "challenges are recorded in the store or are self-authenticating"). Single
 * use is the store's record of the use (`Store.useChallenge`), made when
 * evidence answers.
 *
 * The id, base64url (canonical: any other spelling of the same bytes is
 * refused, so a replay cannot pass as a new id):
 *   version(1) expiresAt(6, ms, big-endian: ids made close in time share a
 *   prefix, which keeps the store's index of uses appending) flags(1: bit 0
 *   anchor present, bits 1-4 banks sha1/sha256/sha384/sha512 present)
 *   random(4) [anchor: clock(8) resetCount(4) restartCount(4)]
 *   [per present bank: 24-bit PCR mask(3)] tagIssued(6) tagDevice(10)
 * tagIssued = HMAC-SHA256(key, 1 ‖ body), truncated, says this key made it;
 * nonce = HMAC-SHA256(key, 2 ‖ deviceId ‖ body ‖ tagIssued), and tagDevice
 * its first 10 bytes: it says for which device and covers every other byte
 * of the id. The nonce is 32 bytes no one without the key can predict before
 * the challenge is issued (it need not stay secret after: the device gets it,
 * and the verdict's `eat_nonce` names it), and the TPM signs it in the quote,
 * so the quote itself is bound to every field of the id and to the device (a
 * 256-bit binding; the short tags give named refusals before the signature
 * check). One MAC opens an id; sealing makes two.
 * 28 bytes (38 characters), plus 16 with an anchor and 3 per bank: at most
 * 56 bytes (75 characters), within the protocol's 96.
 */
export class ChallengeSeal {
  readonly #hmac: HmacSha256;

  /** `key`: 32 bytes shared by every verifier that answers the same devices (see `FleetCa.deriveKey`). */
  constructor(key: Uint8Array) {
    if (key.length < 32) throw new RangeError(`a challenge seal key needs at least 32 bytes, got ${key.length}`);
    this.#hmac = new HmacSha256(key);
  }

  /** A new sealed challenge: its id and nonce. */
  seal(terms: ChallengeTerms): IssuedChallenge {
    const banks = BANKS.filter((b) => terms.pcrSelection[b] !== undefined);
    const anchor = terms.tpmClockAtIssue;
    const body = Buffer.alloc(HEAD + (anchor !== null ? ANCHOR : 0) + MASK * banks.length);
    body[0] = VERSION;
    body.writeUIntBE(checkExpiry(terms.expiresAt), 1, 6);
    let flags = anchor !== null ? FLAG_ANCHOR : 0;
    for (const b of banks) flags |= 1 << (BANK_FLAG_SHIFT + BANKS.indexOf(b));
    body[7] = flags;
    randomPublicBytes(4).copy(body, 8);
    let at = HEAD;
    if (anchor !== null) {
      body.writeBigUInt64BE(anchor.clock, at);
      body.writeUInt32BE(anchor.resetCount, at + 8);
      body.writeUInt32BE(anchor.restartCount, at + 12);
      at += ANCHOR;
    }
    for (const b of banks) {
      body.writeUIntBE(pcrMask(terms.pcrSelection[b]!), at, MASK);
      at += MASK;
    }
    const signed = Buffer.concat([body, this.#mac(DOMAIN.issued, null, body).subarray(0, TAG_ISSUED)]);
    const nonce = this.#mac(DOMAIN.device, terms.deviceId, signed);
    const raw = Buffer.concat([signed, nonce.subarray(0, TAG_DEVICE)]);
    const selection: Record<string, number[]> = {};
    for (const b of banks) selection[b] = [...new Set(terms.pcrSelection[b]!)].sort((x, y) => x - y);
    return {
      id: raw.toString('base64url'),
      deviceId: terms.deviceId,
      nonce,
      pcrSelection: selection as PcrSelection,
      expiresAt: terms.expiresAt,
      tpmClockAtIssue: anchor,
    };
  }

  /**
   * The challenge an id names, if this key sealed it for `deviceId`. Only
   * authenticity and binding are judged here; expiry and single use are the
   * caller's (the store's record of uses).
   */
  open(id: string, deviceId: string): OpenedChallenge {
    if (id.length <= STORED_MAX_CHARS) return { kind: 'stored' };
    const raw = Buffer.from(id, 'base64url');
    // Canonical spelling only: base64url decoding ignores stray bits in the last character.
    if (raw.length < HEAD + TAG_ISSUED + TAG_DEVICE || raw.toString('base64url') !== id || raw[0] !== VERSION) return { kind: 'unknown' };
    const flags = raw[7]!;
    const banks = BANKS.filter((_, i) => (flags >> (BANK_FLAG_SHIFT + i)) & 1);
    const hasAnchor = (flags & FLAG_ANCHOR) !== 0;
    const bodyLength = HEAD + (hasAnchor ? ANCHOR : 0) + MASK * banks.length;
    if (flags >> (BANK_FLAG_SHIFT + BANKS.length) !== 0 || raw.length !== bodyLength + TAG_ISSUED + TAG_DEVICE) return { kind: 'unknown' };
    const signed = raw.subarray(0, bodyLength + TAG_ISSUED);
    // The device tag covers every other byte: when it holds, so does the rest (one MAC on the usual path).
    const nonce = this.#mac(DOMAIN.device, deviceId, signed);
    if (!timingSafeEqual(raw.subarray(signed.length), nonce.subarray(0, TAG_DEVICE))) {
      const body = raw.subarray(0, bodyLength);
      return timingSafeEqual(raw.subarray(bodyLength, signed.length), this.#mac(DOMAIN.issued, null, body).subarray(0, TAG_ISSUED)) ? { kind: 'other-device' } : { kind: 'unknown' };
    }
    let at = HEAD;
    let anchor: TpmClockState | null = null;
    if (hasAnchor) {
      anchor = { clock: raw.readBigUInt64BE(at), resetCount: raw.readUInt32BE(at + 8), restartCount: raw.readUInt32BE(at + 12) };
      at += ANCHOR;
    }
    const selection: Record<string, number[]> = {};
    for (const b of banks) {
      selection[b] = pcrList(raw.readUIntBE(at, MASK));
      at += MASK;
    }
    return {
      kind: 'sealed',
      challenge: {
        id,
        deviceId,
        nonce,
        pcrSelection: selection as PcrSelection,
        expiresAt: raw.readUIntBE(1, 6),
        tpmClockAtIssue: anchor,
      },
    };
  }

  #mac(domain: Buffer, deviceId: string | null, data: Uint8Array): Buffer {
    // Length-prefixed: no device id and body can be read as another pair.
    return this.#hmac.digest(deviceId === null ? [domain, data] : [domain, Buffer.of(Buffer.byteLength(deviceId)), deviceId, data]);
  }
}

function checkExpiry(ms: number): number {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > 0xffff_ffff_ffff) throw new RangeError(`challenge expiry ${ms} is not epoch milliseconds`);
  return ms;
}

/** PCR indices 0-23 as a 24-bit mask (bit i = PCR i). */
function pcrMask(pcrs: readonly number[]): number {
  let mask = 0;
  for (const p of pcrs) {
    if (!Number.isInteger(p) || p < 0 || p > 23) throw new RangeError(`PCR ${p} is outside 0-23`);
    mask |= 1 << p;
  }
  return mask;
}

function pcrList(mask: number): number[] {
  const pcrs: number[] = [];
  for (let p = 0; p < 24; p++) if ((mask >> p) & 1) pcrs.push(p);
  return pcrs;
}
