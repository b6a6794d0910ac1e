import { createServer, connect, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { GuardedConnection } from '../src/broker/guarded-connection.js';
import { MqttFrameScanner } from '../src/broker/frame-scanner.js';
import type { Session } from '../src/broker/session.js';

/**
 * The writes aedes makes through a client's connection: mqtt-packet corks
 * the stream, writes a packet in pieces and uncorks on the next tick, so
 * they reach `_writev`, which writes them to the socket corked: the peer
 * must get every byte, in order, and each write its callback. Over a real
 * TCP connection (the stream logic does not depend on TLS; the broker's
 * tests cover it over mutual TLS).
 */

const closers: Array<() => void> = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

async function pair(): Promise<{ conn: GuardedConnection; received: () => Buffer; settled: (bytes: number) => Promise<Buffer> }> {
  const chunks: Buffer[] = [];
  let waiter: (() => void) | undefined;
  const server = createServer((s) => {
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      waiter?.();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const conn = new GuardedConnection(socket as unknown as TLSSocket, {} as Session, new MqttFrameScanner(1024, 1024), () => undefined);
  closers.push(() => {
    conn.destroy();
    server.close();
  });
  const received = () => Buffer.concat(chunks);
  const settled = async (bytes: number) => {
    while (received().length < bytes) await new Promise<void>((resolve) => (waiter = resolve));
    return received();
  };
  return { conn, received, settled };
}

/** Writes `pieces` as mqtt-packet does: corked, uncorked on the next tick. */
function writeCorked(conn: GuardedConnection, pieces: Array<Buffer | string>): Promise<void> {
  return new Promise((resolve, reject) => {
    conn.cork();
    pieces.forEach((p, i) => conn.write(p, i === pieces.length - 1 ? (err) => (err ? reject(err) : resolve()) : undefined));
    process.nextTick(() => conn.uncork());
  });
}

describe('GuardedConnection writes', () => {
  it('delivers small packets written in pieces whole and in order, each write acknowledged', async () => {
    const { conn, settled } = await pair();
    const packets = Array.from({ length: 50 }, (_, i) => [Buffer.of(0x40, 2), Buffer.of(i >> 8, i & 0xff)]);
    await Promise.all(packets.map((p) => writeCorked(conn, p)));
    const expected = Buffer.concat(packets.flat());
    expect((await settled(expected.length)).equals(expected)).toBe(true);
  });

  it('delivers a large packet, and one with a string piece, byte for byte', async () => {
    const { conn, settled } = await pair();
    const big = [Buffer.of(0x30), Buffer.alloc(3, 0xff), Buffer.from('topic/a'), Buffer.alloc(40 * 1024, 7)];
    const textual: Array<Buffer | string> = [Buffer.of(0x30, 9), 'vigil/v1/', Buffer.from('xy')];
    await writeCorked(conn, big);
    await writeCorked(conn, textual);
    const expected = Buffer.concat([...big, Buffer.of(0x30, 9), Buffer.from('vigil/v1/'), Buffer.from('xy')]);
    expect((await settled(expected.length)).equals(expected)).toBe(true);
  });

  it('keeps whole packets sent beside aedes\' writes in call order: queued behind corked or unfinished writes, direct when idle', async () => {
    const { conn, settled } = await pair();
    const expected: Buffer[] = [];
    const send = (b: Buffer) => {
      conn.send(b);
      expected.push(b);
    };
    const corked = (pieces: Buffer[]) => {
      expected.push(...pieces);
      return writeCorked(conn, pieces);
    };
    send(Buffer.from('idle-1')); // nothing queued: straight to the socket
    const first = corked([Buffer.from('cork-a'), Buffer.from('cork-b')]);
    send(Buffer.from('while-corked')); // the stream is corked: behind cork-a, cork-b
    await first;
    const big = corked([Buffer.alloc(512 * 1024, 0x41)]); // the socket takes time over it: the stream has it queued
    send(Buffer.from('behind-big'));
    send(Buffer.from('behind-big-2'));
    await big;
    await new Promise((resolve) => setTimeout(resolve, 20));
    send(Buffer.from('idle-2'));
    const all = Buffer.concat(expected);
    expect((await settled(all.length)).equals(all)).toBe(true);
  });
});
