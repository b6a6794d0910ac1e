/**
 * Tracks MQTT packet boundaries in the raw byte stream so that a packet's
 * size is known from its fixed header, before any of its body is buffered.
 *
 * aedes's parser (mqtt-packet) has no size limit: it would buffer a packet of
 * any announced size, up to the protocol maximum of 256 MiB. The scanner sees
 * each chunk first and stops the connection as soon as a header announces
 * more than the limit.
 *
 * MQTT 3.1.1 §2.2: fixed header = 1 byte (type, flags) + Remaining Length,
 * 1..4 bytes of 7-bit groups, least significant first, bit 7 = "more".
 * Body bytes are skipped by count, not inspected: cost is per packet, not per byte.
 */
export type FrameViolation =
  | { readonly reason: 'packet-too-large'; readonly size: number; readonly limit: number; readonly packetType: number }
  | { readonly reason: 'malformed-packet'; readonly detail: string };

const HEADER = 0;
const LENGTH = 1;
const BODY = 2;

export class MqttFrameScanner {
  #state = HEADER;
  #packetType = 0;
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #bodyLeft = 0;
  #packets = 0;

  /**
   * @param firstPacketLimit total size limit (header included) of the first packet (CONNECT)
   * @param packetLimit total size limit of every later packet; `setPacketLimit` changes it
   *   (the broker raises it once the client is authenticated)
   */
  constructor(
    readonly firstPacketLimit: number,
    private packetLimit: number,
  ) {}

  setPacketLimit(limit: number): void {
    this.packetLimit = limit;
  }

  /** Complete fixed headers seen so far. */
  get packets(): number {
    return this.#packets;
  }

  /** Feeds the next chunk; returns the first violation, after which the connection must be dropped. */
  scan(chunk: Uint8Array): FrameViolation | undefined {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.#state === BODY) {
        const skip = Math.min(this.#bodyLeft, n - i);
        i += skip;
        this.#bodyLeft -= skip;
        if (this.#bodyLeft === 0) this.#state = HEADER;
        continue;
      }
      if (this.#state === HEADER) {
        this.#packetType = chunk[i]! >> 4;
        i++;
        this.#state = LENGTH;
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
        continue;
      }
      const byte = chunk[i]!;
      i++;
      this.#length += (byte & 0x7f) * this.#multiplier;
      this.#multiplier *= 128;
      this.#lengthBytes++;
      if ((byte & 0x80) !== 0) {
        if (this.#lengthBytes === 4) return { reason: 'malformed-packet', detail: 'remaining length longer than 4 bytes' };
        continue;
      }
      const size = 1 + this.#lengthBytes + this.#length;
      const limit = this.#packets === 0 ? this.firstPacketLimit : this.packetLimit;
      if (size > limit) return { reason: 'packet-too-large', size, limit, packetType: this.#packetType };
      this.#packets++;
      this.#bodyLeft = this.#length;
      this.#state = this.#length === 0 ? HEADER : BODY;
    }
    return undefined;
  }
}
