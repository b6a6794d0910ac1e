import { join } from 'node:path';
import { pino } from 'pino';
import { adminPaths } from '../../admin/local/paths.js';
import { readRunFile } from '../../admin/local/run-file.js';
import type { RunningServer } from '../../app/index.js';
import { createLogger } from '../../log.js';
import type { Scene } from './scene.js';

/** How often the demo's server challenges each device (the default is 60 s). */
export const ATTEST_INTERVAL_SECONDS = 5;

/**
 * The server in this process (`startVigilServer`, as `vigil-server start`
 * runs it): the embedded broker on 127.0.0.1 and a free port, the admin API
 * on a free port (never a real server's 8443), its log in `demo/server.log`
 * (the terminal is the demo's).
 */
export async function startDemoServer(scene: Scene): Promise<RunningServer> {
  const { term, paths } = scene;
  const server = await term.step(
    'server started',
    async () => {
      const { startVigilServer } = await import('../../app/index.js');
      const logger = createLogger({ level: 'info', destination: pino.destination({ dest: join(scene.demoDir, 'server.log'), sync: true, mkdir: true }) });
      const flag = 'vigil-server demo';
      return startVigilServer({
        paths,
        logger,
        overrides: [
          { path: 'listen.host', value: '127.0.0.1', flag },
          { path: 'listen.port', value: 0, flag },
          { path: 'admin.port', value: 0, flag },
          { path: 'attestation.intervalSeconds', value: ATTEST_INTERVAL_SECONDS, flag },
        ],
      });
    },
    (s) => `server started: MQTT over mutual TLS on ${term.paint.bold(`localhost:${s.port}`)}, attestation every ${ATTEST_INTERVAL_SECONDS} s`,
  );
  scene.teardown.add('stop the server', () => server.stop());
  const admin = await readRunFile(adminPaths(paths));
  if (admin) term.line(term.paint.dim(`  admin API on https://${admin.host}:${admin.port} (client certificate in ${join(paths.root, 'admin')})`));
  return server;
}
