import { X509Certificate } from 'node:crypto';
import { serviceKey } from '../../app/services.js';
import type { Component, ComponentFactory, ServerContext } from '../../app/context.js';
import { CliError, ExitCode } from '../../cli/exit-codes.js';
import { days, loadServerCredentialFiles } from '../../pki/index.js';
import { ensureLocalCredential } from '../local/credential.js';
import { adminPaths } from '../local/paths.js';
import { removeRunFile, writeRunFile } from '../local/run-file.js';
import type { OperationContext } from '../operations/context.js';
import { operations as registeredOperations } from '../operations/registry.js';
import type { Operation } from '../operations/operation.js';
import { createAdminApp } from './app.js';
import { AdminAuthenticator, type AdminPrincipal } from './authenticate.js';

/** Where the running admin API can be reached (provided in `ctx.services` while it runs). */
export interface AdminApiEndpoint {
  /** Address to connect to (loopback when bound to a wildcard). */
  readonly host: string;
  readonly port: number;
  /** `fingerprint256` of its TLS certificate. */
  readonly certificateSha256: string;
}

export const AdminApi = serviceKey<AdminApiEndpoint>('admin.api');

/** Version of the API document (routes live under /v1). */
export const ADMIN_API_VERSION = '1.0.0';

/**
 * The admin API as a server component: makes sure the local admin
 * credential exists, serves every registered operation over HTTPS on
 * `admin.host:admin.port` with the broker's certificate, and announces itself
 * in `DIR/run/admin.json` for the CLI until it stops.
 */
export function adminApiComponentWith(operations: readonly Operation[]): ComponentFactory {
  return async (ctx: ServerContext): Promise<Component> => {
    const config = ctx.config.admin;
    const log = ctx.log.child({ component: 'admin-api' });
    if (!config.enabled) {
      log.info('admin API disabled (admin.enabled: false)');
      return { name: 'admin-api', close: async () => undefined };
    }
    await ensureLocalCredential(ctx.paths, ctx.ca, ctx.store, { validityMs: days(config.localCredentialDays), log });
    // The broker's certificate: same host, same names, already renewed by start when near expiry.
    const tls = await loadServerCredentialFiles(ctx.paths);
    const app = await createAdminApp({
      tls: { certificatePem: tls.certificatePem, keyPem: tls.privateKeyPem, caPem: ctx.ca.certificatePem },
      operations,
      authenticator: new AdminAuthenticator(ctx.ca.certificate, ctx.store),
      contextFor: (principal) => operationContext(ctx, principal),
      store: ctx.store,
      metrics: { contentType: ctx.metrics.registry.contentType, text: () => ctx.metrics.registry.metrics() },
      readiness: async () => ({
        store: await ctx.store.getAdminCredential('00').then(
          () => true as const,
          (err: unknown) => `the store does not answer: ${(err as Error).message}`,
        ),
        broker: ctx.broker.listening ? true : 'the broker is not listening',
      }),
      log,
      version: ADMIN_API_VERSION,
    });
    try {
      await app.listen({ host: config.host, port: config.port });
    } catch (err) {
      await app.close();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
        throw new CliError(`admin API cannot listen on ${config.host} port ${config.port}: ${code}`, ExitCode.Io, { cause: err });
      }
      throw err;
    }
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : config.port;
    const endpoint: AdminApiEndpoint = {
      host: config.host === '::' || config.host === '0.0.0.0' ? '127.0.0.1' : config.host,
      port,
      certificateSha256: new X509Certificate(tls.certificatePem).fingerprint256,
    };
    const files = adminPaths(ctx.paths);
    await writeRunFile(files, { pid: process.pid, ...endpoint, startedAt: new Date().toISOString() });
    ctx.services.provide(AdminApi, endpoint);
    log.info({ host: config.host, port }, 'admin API listening');
    return {
      name: 'admin-api',
      ready: { adminPort: port },
      async close() {
        ctx.services.withdraw(AdminApi);
        await removeRunFile(files, { pid: process.pid, port }).catch((err: unknown) => log.warn({ err }, 'cannot remove the admin run file'));
        await app.close();
      },
    };
  };
}

/** The admin API with every registered operation. */
export const adminApiComponent: ComponentFactory = (ctx) => adminApiComponentWith(registeredOperations)(ctx);

function operationContext(ctx: ServerContext, principal: AdminPrincipal): OperationContext {
  return {
    store: ctx.store,
    paths: ctx.paths,
    actor: `admin:${principal.name}`,
    server: ctx,
    fleetCa: async () => ctx.ca,
    config: async () => ctx.config,
  };
}
