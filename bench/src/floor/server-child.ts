/**
 * The floor's server process (started by the controller, built `dist/`
 * only): one listener on 127.0.0.1 port 0 — mutual TLS 1.3, client
 * certificate required and verified against the fleet CA, the device named
 * by its certificate as the broker does; or plain TCP for the `tcp`
 * variant — and a `FloorServerSession` per connection. For the ladder's
 * variants (`mqtt*`) the listener is the server's real broker instead
 * (`startBroker`) with a `FloorLadderServer` on its messages, and for
 * `mqtt-json-sqlite` a SQLite file in a temporary directory, removed at
 * the end. Single-threaded apart from libuv's pool, which runs the
 * signature verifications.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { createLogger, deviceIdFromCertificate, startBroker, type Broker } from '@vigil/server';
import { processCpu } from '../process-cpu.js';
import { serveParent } from './parent-link.js';
import type { ServerControl, ServerInit, ServerReport } from './messages.js';
import { FloorLadderServer } from './server-ladder.js';
import { FloorServerSession, resultFrames, type SessionContext } from './server-session.js';
import { FloorVerdictLog } from './verdict-log.js';

/**
 * The broker's per-device publish limit for the ladder: the floor's closed
 * loop has each of 400 devices publish ~20-30 times a second, over the
 * server's default of 20 (`DEFAULT_BROKER_LIMITS`); the bucket is still
 * checked on every publish, so its cost is measured.
 */
const LADDER_PUBLISH_RATE = 1000;

let server: Server | undefined;
let broker: Broker | undefined;
let verdictLog: FloorVerdictLog | undefined;
let logDir: string | undefined;
let context: { readonly verdicts: Record<string, number>; readonly refusals: Record<string, number> } | undefined;
let connections = 0;
const sockets = new Set<Socket>();

function track(socket: Socket): void {
  connections++;
  sockets.add(socket);
  socket.once('close', () => sockets.delete(socket));
}

function listen(init: ServerInit): void {
  const aks = new Map<string, KeyObject>(init.aks.map((a) => [a.deviceId, createPublicKey({ key: Buffer.from(a.spki), format: 'der', type: 'spki' })]));
  if (init.traits.mqtt) {
    listenBroker(init, aks).catch((err: Error) => send({ type: 'error', message: `broker: ${err.message}` }));
    return;
  }
  const ctx: SessionContext = { traits: init.traits, sizes: init.sizes, aks, results: resultFrames(init.sizes), verdicts: {}, refusals: {} };
  context = ctx;
  if (init.tls !== undefined) {
    const tls = createTlsServer({ key: init.tls.keyPem, cert: init.tls.certPem, ca: [init.tls.caPem], requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' });
    // Without TCP_NODELAY each small record waits for the peer's delayed ACK under Nagle's algorithm.
    tls.on('connection', (socket: Socket) => socket.setNoDelay(true));
    tls.on('tlsClientError', () => {
      ctx.refusals['handshake'] = (ctx.refusals['handshake'] ?? 0) + 1;
    });
    tls.on('secureConnection', (socket: TLSSocket) => {
      track(socket);
      // The identity comes from the certificate, never from the payload (design: trust and access).
      let ak: KeyObject | undefined;
      try {
        const certificate = socket.getPeerX509Certificate();
        if (certificate !== undefined) ak = aks.get(deviceIdFromCertificate(certificate));
      } catch {
        ak = undefined;
      }
      const session = new FloorServerSession(socket, ak, ctx);
      if (ak === undefined) session.refuse('identity');
    });
    server = tls;
  } else {
    const tcp = createTcpServer((socket) => {
      socket.setNoDelay(true);
      track(socket);
      new FloorServerSession(socket, undefined, ctx);
    });
    server = tcp;
  }
  server.on('error', (err) => send({ type: 'error', message: `listen: ${err.message}` }));
  server.listen(0, '127.0.0.1', () => send({ type: 'listening', port: (server!.address() as AddressInfo).port }));
}

async function listenBroker(init: ServerInit, aks: ReadonlyMap<string, KeyObject>): Promise<void> {
  if (init.tls === undefined) throw new Error('the ladder runs over mutual TLS only');
  if (init.traits.sqlite) {
    logDir = mkdtempSync(join(tmpdir(), 'vigil-floor-'));
    verdictLog = new FloorVerdictLog(join(logDir, 'verdicts.db'));
  }
  const ctx = { verdicts: {}, refusals: {} };
  context = ctx;
  broker = await startBroker({
    host: '127.0.0.1',
    port: 0,
    caCertificatePem: init.tls.caPem,
    serverCertificatePem: init.tls.certPem,
    serverKeyPem: init.tls.keyPem,
    limits: { publishRatePerSecond: LADDER_PUBLISH_RATE, publishBurst: LADDER_PUBLISH_RATE },
    logger: createLogger({ level: 'silent' }),
  });
  new FloorLadderServer(broker, { traits: init.traits, sizes: init.sizes, aks, ...ctx, ...(verdictLog !== undefined ? { log: verdictLog } : {}) });
  send({ type: 'listening', port: broker.port });
}

/** Closes everything and exits: the figures have been taken, nothing here is worth a graceful drain. */
function stop(): void {
  server?.close();
  for (const s of sockets) s.destroy();
  verdictLog?.close();
  if (logDir !== undefined) rmSync(logDir, { recursive: true, force: true });
  process.exit(0);
}

// Control messages from the benchmark; the benchmark going away ends this process (no orphaned servers).
const send = serveParent<ServerControl, ServerReport>((m) => {
  switch (m.type) {
    case 'init':
      listen(m);
      break;
    case 'stats':
      send({
        type: 'stats',
        id: m.id,
        stats: {
          connections: broker?.connectedCount ?? connections,
          verdicts: { ...context?.verdicts },
          refusals: { ...context?.refusals },
          cpu: processCpu(),
          ...(verdictLog !== undefined ? { stored: verdictLog.counts(), commits: verdictLog.commits } : {}),
        },
      });
      break;
    case 'stop':
      stop();
      break;
  }
}, stop);
