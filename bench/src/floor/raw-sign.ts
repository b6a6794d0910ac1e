/**
 * Bare ECDSA P-256 / SHA-256 signatures per second on this thread, of a
 * quote-sized message with a prepared KeyObject and IEEE P1363 output — the
 * device side's one cryptographic operation per verdict, the counterpart of
 * the verify benchmark's `rawVerifyRate`.
 */
import { generateKeyPairSync, sign } from 'node:crypto';
import { medianRate } from '../rate.js';

export function rawSignRate(seconds: number): number {
  const message = Buffer.alloc(145, 0x5a); // a TPMS_ATTEST of a 12-PCR quote is 145 bytes
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const options = { key: privateKey, dsaEncoding: 'ieee-p1363' as const };
  return medianRate(seconds, () => {
    if (sign('sha256', message, options).length !== 64) throw new Error('raw sign: not a P-256 signature');
  });
}
