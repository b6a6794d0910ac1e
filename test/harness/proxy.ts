/**
 * A TCP proxy for fault tests, put between clients (agents, simulated
 * devices) and the server: it forwards bytes as they are (TLS passes
 * through untouched) and can, on command,
 *
 * - `pause()` / `resume()`: stall traffic in one or both directions, the
 *   connections staying open (a network that stops delivering: the TCP
 *   windows fill and the senders block);
 * - `cut()`: reset every open connection at once (a dropped link, a NAT
 *   that forgot the flow);
 * - `delay(ms)`: hold every chunk that long before forwarding it (a slow link);
 * - `refuse(true)`: close new connections as soon as they are accepted (the
 *   server unreachable);
 * - `retarget(port)`: send new connections to another port (a restarted server).
 *
 * It listens on 127.0.0.1, port 0 (see `port`), and `close()` ends everything.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export type Direction = 'up' | 'down' | 'both';

interface Pipe {
  readonly client: Socket;
  readonly server: Socket;
  /** Chunks held while the direction is paused or delayed, in order. */
  readonly held: { up: Buffer[]; down: Buffer[] };
}

export class FaultProxy {
  readonly #pipes = new Set<Pipe>();
  #paused = { up: false, down: false };
  #delayMs = 0;
  #refusing = false;
  /** Connections accepted since start (refused ones included). */
  accepted = 0;
  /** Bytes forwarded per direction: up = client → server. */
  readonly bytes = { up: 0, down: 0 };

  private constructor(
    private readonly server: Server,
    private targetPort: number,
    private readonly targetHost: string,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<FaultProxy> {
    let proxy: FaultProxy | undefined;
    const server = createServer({ noDelay: true }, (client) => proxy!.#accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new FaultProxy(server, targetPort, targetHost);
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Open client connections. */
  get connections(): number {
    return this.#pipes.size;
  }

  retarget(port: number): void {
    this.targetPort = port;
  }

  refuse(on: boolean): void {
    this.#refusing = on;
  }

  pause(direction: Direction = 'both'): void {
    if (direction !== 'down') this.#paused.up = true;
    if (direction !== 'up') this.#paused.down = true;
  }

  resume(direction: Direction = 'both'): void {
    if (direction !== 'down') this.#paused.up = false;
    if (direction !== 'up') this.#paused.down = false;
    for (const p of this.#pipes) {
      this.#flush(p, 'up');
      this.#flush(p, 'down');
    }
  }

  delay(ms: number): void {
    this.#delayMs = ms;
  }

  /** Resets every open connection (both sides see ECONNRESET, as when a link drops). */
  cut(): number {
    const n = this.#pipes.size;
    for (const p of [...this.#pipes]) this.#end(p);
    return n;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    this.accepted++;
    if (this.#refusing) {
      client.resetAndDestroy();
      return;
    }
    const server = connect({ port: this.targetPort, host: this.targetHost, noDelay: true });
    const pipe: Pipe = { client, server, held: { up: [], down: [] } };
    this.#pipes.add(pipe);
    client.on('data', (chunk: Buffer) => this.#forward(pipe, 'up', chunk));
    server.on('data', (chunk: Buffer) => this.#forward(pipe, 'down', chunk));
    for (const s of [client, server]) {
      s.on('error', () => this.#end(pipe));
      s.on('close', () => this.#end(pipe));
    }
  }

  #forward(pipe: Pipe, direction: 'up' | 'down', chunk: Buffer): void {
    if (this.#paused[direction] || pipe.held[direction].length > 0) {
      pipe.held[direction].push(chunk);
      // Stop reading: the sender's TCP window fills, as on a stalled network.
      (direction === 'up' ? pipe.client : pipe.server).pause();
      return;
    }
    if (this.#delayMs > 0) {
      const ms = this.#delayMs;
      pipe.held[direction].push(chunk);
      setTimeout(() => this.#flush(pipe, direction), ms);
      return;
    }
    this.#write(pipe, direction, chunk);
  }

  #flush(pipe: Pipe, direction: 'up' | 'down'): void {
    if (this.#paused[direction]) return;
    const held = pipe.held[direction].splice(0);
    for (const chunk of held) this.#write(pipe, direction, chunk);
    (direction === 'up' ? pipe.client : pipe.server).resume();
  }

  #write(pipe: Pipe, direction: 'up' | 'down', chunk: Buffer): void {
    const to = direction === 'up' ? pipe.server : pipe.client;
    if (to.destroyed) return;
    this.bytes[direction] += chunk.length;
    to.write(chunk);
  }

  #end(pipe: Pipe): void {
    if (!this.#pipes.delete(pipe)) return;
    for (const s of [pipe.client, pipe.server]) {
      if (!s.destroyed) {
        try {
          s.resetAndDestroy();
        } catch {
          s.destroy();
        }
      }
    }
  }
}
