import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { TLSSocket } from 'node:tls';
import type { TSchema } from 'typebox';
import type { Logger } from '../../log.js';
import type { Store } from '../../store/index.js';
import { decodeObject, formatProblems } from '../operations/input.js';
import type { OperationContext } from '../operations/context.js';
import { OperationError } from '../operations/errors.js';
import type { Operation } from '../operations/operation.js';
import { roleAllows, type Role } from '../roles.js';
import type { AdminAuthenticator, AdminPrincipal } from './authenticate.js';
import { asOperationError, ErrorBody, errorBody } from './error-body.js';
import { inputParts } from './input-parts.js';
import { describeDocument } from './openapi.js';

export interface AdminAppOptions {
  /** The admin API's own TLS credentials and the fleet CA (the only trust anchor for client certificates). */
  readonly tls: { readonly certificatePem: string; readonly keyPem: string; readonly caPem: string };
  readonly operations: readonly Operation[];
  readonly authenticator: AdminAuthenticator;
  /** The context an operation runs in for this caller. */
  readonly contextFor: (principal: AdminPrincipal) => OperationContext;
  /** For audit entries of refused mutating calls. */
  readonly store: Store;
  /** Prometheus exposition for `/metrics`. */
  readonly metrics: { contentType: string; text(): Promise<string> };
  /** Readiness checks for `/readyz`: each true when fine, else why not. */
  readonly readiness: () => Promise<Record<string, true | string>>;
  readonly log: Logger;
  readonly version: string;
}

/** Who may call a route: anyone (health checks) or a role. */
type Access = 'public' | Role;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Admin API: the least role a caller needs; 'public' needs no certificate. */
    access?: Access;
    /** Admin API: the operation served, for logs and audit. */
    operation?: string;
  }
}

const MiB = 1024 * 1024;

const MUTUAL_TLS = {
  type: 'mutualTLS',
  description: 'An admin client certificate from the fleet CA (SAN URIs urn:vigil:admin:<name> and urn:vigil:role:<role>), issued by `vigil-server admin issue`.',
};

/**
 * The admin API as a fastify app over HTTPS (TLS 1.3 only). The listener
 * asks every client for a certificate but lets the handshake complete
 * without one, so `/healthz` and `/readyz` work for plain probes; every
 * other route authenticates the certificate (see AdminAuthenticator) and
 * checks its role before the body is even read. One route per operation,
 * its parts validated by TypeBox from the operation's input schema.
 */
export async function createAdminApp(options: AdminAppOptions): Promise<FastifyInstance> {
  const app = Fastify({
    https: {
      key: options.tls.keyPem,
      cert: options.tls.certificatePem,
      ca: [options.tls.caPem],
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.3',
    },
    logger: false,
    bodyLimit: MiB,
    forceCloseConnections: true,
    return503OnClosing: true,
    connectionTimeout: 60_000,
    requestTimeout: 300_000,
  });
  const principals = new WeakMap<FastifyRequest, AdminPrincipal>();

  // TypeBox validates every part; text parts (path, query) are converted to the schema's types first.
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const fromText = httpPart === 'params' || httpPart === 'querystring';
    return (data: unknown) => {
      const raw = data === null || data === undefined ? {} : data;
      if (typeof raw !== 'object' || Array.isArray(raw)) return { error: new OperationError('invalid-input', `the ${httpPart} must be a JSON object`) };
      const decoded = decodeObject(schema as TSchema, raw as Record<string, unknown>, { fromText });
      if (decoded.ok) return { value: decoded.value };
      const only = decoded.problems.length === 1 ? decoded.problems[0]! : undefined;
      const error =
        only !== undefined && only.property !== ''
          ? new OperationError('invalid-input', only.message, { property: only.property })
          : new OperationError('invalid-input', formatProblems(decoded.problems));
      return { error };
    };
  });
  // JSON only: no text/plain bodies (fastify parses them by default).
  app.removeContentTypeParser('text/plain');
  // Outputs are the handlers' own typed values: plain JSON, no schema-driven serializer needed.
  app.setSerializerCompiler(() => (data: unknown) => JSON.stringify(data));

  app.setErrorHandler((err, request, reply) => {
    const { error, status } = asOperationError(err);
    if (error.code === 'internal') options.log.error({ err, operation: request.routeOptions.config.operation }, 'admin API request failed');
    void reply.code(status).send(errorBody(error));
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(errorBody(new OperationError('not-found', `no route ${request.method} ${request.url.split('?')[0]}`)));
  });

  app.addHook('onRequest', async (request, reply) => {
    const access = request.routeOptions.config.access ?? 'viewer';
    if (access === 'public') return;
    const auth = await options.authenticator.authenticate(request.raw.socket as TLSSocket);
    if (!auth.ok) {
      options.log.warn({ ip: request.ip, url: request.url, reason: auth.reason }, 'admin API refused a client');
      return deny(reply, new OperationError('unauthenticated', auth.reason));
    }
    const principal = auth.principal;
    if (!roleAllows(principal.role, access)) {
      const operation = request.routeOptions.config.operation;
      options.log.warn({ admin: principal.name, role: principal.role, operation, needed: access }, 'admin API call refused: role too low');
      if (request.method !== 'GET' && operation !== undefined) {
        await options.store.appendAudit({
          actor: `admin:${principal.name}`,
          action: 'api.deny',
          subject: `operation:${operation}`,
          details: { role: principal.role, needed: access, serial: principal.serial },
        });
      }
      return deny(reply, new OperationError('forbidden', `${operation ?? request.url} needs the ${access} role; ${principal.name} has ${principal.role}`));
    }
    principals.set(request, principal);
  });

  app.addHook('onResponse', async (request, reply) => {
    const operation = request.routeOptions.config.operation;
    if (operation === undefined) return;
    const fields = { operation, admin: principals.get(request)?.name, status: reply.statusCode, ms: Math.round(reply.elapsedTime) };
    if (request.method === 'GET') options.log.debug(fields, 'admin API call');
    else options.log.info(fields, 'admin API call');
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Vigil admin API',
        version: options.version,
        description: 'Administer a Vigil attestation server. Every route except /healthz and /readyz needs an admin client certificate issued by `vigil-server admin issue`; its role (viewer < operator < admin) decides what it may call.',
      },
      // OpenAPI 3.1 §4.8.27 has type mutualTLS; the plugin's types predate it.
      components: { securitySchemes: { adminCertificate: MUTUAL_TLS as never } },
    },
    transformObject: (doc) => describeDocument(doc, options.operations),
  });

  for (const op of options.operations) {
    const parts = inputParts(op);
    app.route({
      method: op.method,
      url: op.path,
      config: { access: op.role, operation: op.name },
      schema: {
        operationId: op.name,
        summary: op.summary,
        description: `${op.description === undefined ? '' : `${op.description}\n\n`}Role: ${op.role}.`,
        tags: [op.name.split('.')[0]!],
        security: [{ adminCertificate: [] }],
        ...(parts.params ? { params: parts.params } : {}),
        ...(parts.querystring ? { querystring: parts.querystring } : {}),
        ...(parts.body ? { body: parts.body } : {}),
        response: { 200: op.output, '4xx': ErrorBody, '5xx': ErrorBody },
      },
      handler: async (request) => {
        const principal = principals.get(request);
        if (principal === undefined) throw new OperationError('unauthenticated', 'no admin credential');
        const input = { ...(request.params as object), ...((op.method === 'GET' || op.method === 'DELETE' ? request.query : request.body) as object) };
        return op.run(options.contextFor(principal), input);
      },
    });
  }

  app.get('/openapi.json', { config: { access: 'viewer' }, schema: { hide: true } }, async () => app.swagger());
  app.get(
    '/metrics',
    { config: { access: 'viewer' }, schema: { summary: 'Prometheus metrics (text exposition format)', tags: ['health'], security: [{ adminCertificate: [] }] } },
    async (_request, reply) => reply.type(options.metrics.contentType).send(await options.metrics.text()),
  );
  app.get('/healthz', { config: { access: 'public' }, schema: { summary: 'the process is up', tags: ['health'], security: [] } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: { access: 'public' }, schema: { summary: 'the store answers and the broker listens', tags: ['health'], security: [] } }, async (_request, reply) => {
    const checks = await options.readiness();
    const ready = Object.values(checks).every((c) => c === true);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', checks });
  });

  return app;
}

function deny(reply: FastifyReply, error: OperationError): FastifyReply {
  return reply.code(error.status).send(errorBody(error));
}
