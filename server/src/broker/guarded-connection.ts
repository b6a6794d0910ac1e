import { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import type { FrameViolation, MqttFrameScanner } from './frame-scanner.js';
import type { Session } from './session.js';

/**
 * The stream aedes reads MQTT from: the client's TLS socket, with every
 * incoming chunk first passed through an `MqttFrameScanner`. Chunks are
 * forwarded as they are (no copy); the first violation destroys the
 * connection before the oversized packet is buffered anywhere.
 * It also carries the client's `Session` (identity, access policy, limits)
 * so the aedes hooks can find it from `client.conn`.
 */
export class GuardedConnection extends Duplex {
  constructor(
    readonly socket: TLSSocket,
    readonly session: Session,
    readonly scanner: MqttFrameScanner,
    onViolation: (violation: FrameViolation) => void,
  ) {
    super({ allowHalfOpen: false, decodeStrings: false });
    socket.on('data', (chunk: Buffer) => {
      if (this.destroyed) return;
      const violation = scanner.scan(chunk);
      if (violation !== undefined) {
        onViolation(violation);
        socket.pause();
        this.destroy();
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => {
      if (!this.destroyed) this.destroy();
    });
  }

  /**
   * Writes one whole packet: straight to the socket when nothing is queued
   * in this stream (then every byte written through it has reached the
   * socket already, so order holds), else behind what is queued. The
   * server's two writes a verdict (challenge, result) skip a pass through
   * the stream's machinery.
   */
  send(packet: Buffer): void {
    if (this.writableLength === 0 && !this.writableEnded && !this.destroyed) this.socket.write(packet);
    else this.write(packet);
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.socket.write(chunk, callback);
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    // mqtt-packet writes a packet as several small buffers; one TLS record for all of them.
    this.socket.cork();
    for (let i = 0; i < chunks.length - 1; i++) this.socket.write(chunks[i]!.chunk);
    this.socket.write(chunks[chunks.length - 1]!.chunk, callback);
    this.socket.uncork();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}
