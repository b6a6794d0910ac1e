/**
 * The sizes of the four messages of one verdict, as the real protocol puts
 * them on the wire: each is one MQTT packet (fixed header, topic, JSON
 * payload) in one TLS record, and each floor frame (4-byte length + body)
 * is padded to exactly that many bytes, so TLS encrypts and the kernel
 * copies what the real system's would.
 *
 * Where they come from: the real verify benchmark, `node bench/dist/main.js
 * verify --phases closed --swtpm 0 --devices 400 --window 3`, run with a
 * scratch preload (not in the project) that wrapped the TLS sockets' `write`
 * in the server and in the load-generator process and logged every MQTT
 * packet written (type, topic, total length), on 2026-11-28 at commit
 * 9a5a130. The figures are the most common size of each in the closed
 * loop's steady state — the 300 of 400 devices whose ids have three digits
 * (`sim-6bf323-100`; a digit less in the id is a byte less in the request
 * and evidence topics, two in the challenge and result, where the id also
 * sits in the payload):
 *
 * | message | topic | QoS | bytes |
 * | --- | --- | --- | --- |
 * | request | `vigil/v1/devices/<id>/challenge/request`, `{"v":1,"reason":"manual"}` | 1 | 80 |
 * | challenge | `…/challenge`: id, nonce (hex), PCR selection, log offsets, boot log digest, expiry | 0 | 380 |
 * | evidence | `…/evidence`: quote (145-byte TPMS_ATTEST) and TPMT_SIGNATURE in base64, 12 PCR values, boot log by digest, empty model-log delta | 1 | 1,475 |
 * | result | `…/result`: the EAR verdict | 0 | 874 |
 *
 * The first evidence of a connection carries the whole boot log (34,521
 * bytes) and is not steady state. The broker also sends a 4-byte PUBACK for
 * each QoS 1 publish (request, evidence); those two acknowledgements are not
 * part of the floor: the challenge already answers the request and the
 * result the evidence. Challenge ids are the 28-character time-ordered ids
 * of commit 9a5a130 (`timeOrderedId`; the 22-character random ids before it
 * made the challenge and the evidence 6 bytes shorter, the result 12).
 * On the wire each record adds 22 bytes (TLS 1.3 with AES-GCM: 5-byte record
 * header, 1-byte inner content type, 16-byte tag; RFC 8446 §5.2).
 */
export const WIRE_SIZES = {
  request: 80,
  challenge: 380,
  evidence: 1475,
  result: 874,
} as const;

export type WireSizes = { readonly [K in keyof typeof WIRE_SIZES]: number };
