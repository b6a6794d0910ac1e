import { Agent, request, type RequestOptions } from 'node:https';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { ClientCredential } from '../local/credential-files.js';
import { isOperationErrorCode, OperationError } from '../operations/errors.js';
import type { Operation } from '../operations/operation.js';
import { httpCallFor } from './request.js';

/** Where the admin API listens, and how to recognise it. */
export interface AdminEndpoint {
  readonly host: string;
  readonly port: number;
  /**
   * Pin: accept the server only with exactly this certificate
   * (`fingerprint256`), whatever names it carries. Otherwise its SANs must
   * match `host`. The chain to the fleet CA is checked either way.
   */
  readonly certificateSha256?: string;
}

/** The admin API could not be reached, or did not speak its protocol. */
export class AdminConnectionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AdminConnectionError';
  }
}

export interface AdminResponse {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

/** Answers larger than this are refused (the largest real one, a 100 000-entry audit page, is ~40 MiB). */
const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

/**
 * A client of the admin API over HTTPS with a client certificate (TLS 1.3).
 * Used by `vigil-server` commands on the server host and by tests; any
 * HTTPS client with the credential files works the same (curl, Prometheus).
 */
export class AdminClient {
  /** Keeps connections between calls (idle ones do not hold the process open: the agent unrefs them). */
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 4 });

  constructor(
    readonly endpoint: AdminEndpoint,
    private readonly credential: ClientCredential | Pick<ClientCredential, 'caPem'>,
    private readonly options: { readonly timeoutMs?: number } = {},
  ) {}

  /** Closes the kept connections. */
  close(): void {
    this.#agent.destroy();
  }

  /**
   * Calls an operation. Resolves with its output (parsed JSON); an error
   * answer becomes the OperationError the server raised.
   * @throws OperationError, AdminConnectionError
   */
  async call(op: Operation, input: Readonly<Record<string, unknown>>): Promise<unknown> {
    const call = httpCallFor(op, input);
    const res = await this.request(call.method, call.path, call.body);
    const body = parseJson(res);
    if (res.status >= 200 && res.status < 300) return body;
    throw errorFrom(res.status, body);
  }

  /** True if `/healthz` answers 200 (no client certificate needed). */
  async healthy(): Promise<boolean> {
    try {
      return (await this.request('GET', '/healthz')).status === 200;
    } catch {
      return false;
    }
  }

  /** A raw request, for routes that are not operations (`/metrics`, `/openapi.json`, `/readyz`). */
  request(method: string, path: string, body?: unknown): Promise<AdminResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const pin = this.endpoint.certificateSha256;
    const credential = this.credential as Partial<ClientCredential>;
    const options: RequestOptions = {
      host: this.endpoint.host,
      port: this.endpoint.port,
      method,
      path,
      agent: this.#agent,
      ca: this.credential.caPem,
      ...(credential.certificatePem !== undefined ? { cert: credential.certificatePem, key: credential.keyPem } : {}),
      minVersion: 'TLSv1.3',
      rejectUnauthorized: true,
      checkServerIdentity: (host: string, cert: PeerCertificate) =>
        pin === undefined ? checkServerIdentity(host, cert) : cert.fingerprint256 === pin ? undefined : new Error(`the admin API presented certificate ${cert.fingerprint256}, not the one pinned (${pin})`),
      headers: {
        accept: 'application/json',
        ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(payload.length) }),
      },
      ...(this.options.timeoutMs === undefined ? {} : { timeout: this.options.timeoutMs }),
    };
    return new Promise<AdminResponse>((resolve, reject) => {
      const req = request(options, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy(new AdminConnectionError(`the admin API answer exceeds ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => reject(connectionError(err, this.endpoint)));
      });
      req.on('timeout', () => req.destroy(new AdminConnectionError(`no answer from the admin API at ${this.endpoint.host}:${this.endpoint.port}`)));
      req.on('error', (err) => reject(connectionError(err, this.endpoint)));
      req.end(payload);
    });
  }
}

function connectionError(err: Error, endpoint: AdminEndpoint): AdminConnectionError {
  if (err instanceof AdminConnectionError) return err;
  return new AdminConnectionError(`cannot reach the admin API at ${endpoint.host}:${endpoint.port}: ${err.message}`, { cause: err });
}

function parseJson(res: AdminResponse): unknown {
  try {
    return JSON.parse(res.text) as unknown;
  } catch {
    throw new AdminConnectionError(`the admin API answered ${res.status} with a body that is not JSON`);
  }
}

function errorFrom(status: number, body: unknown): OperationError {
  const b = (typeof body === 'object' && body !== null ? body : {}) as { error?: unknown; message?: unknown; property?: unknown };
  const code = isOperationErrorCode(b.error) ? b.error : status >= 500 ? 'internal' : 'invalid-input';
  let message = typeof b.message === 'string' ? b.message : `the admin API answered ${status}`;
  if (typeof b.property !== 'string') return new OperationError(code, message);
  // The API prefixes the property (for curl users); the CLI names it as its flag instead.
  if (message.startsWith(`${b.property}: `)) message = message.slice(b.property.length + 2);
  return new OperationError(code, message, { property: b.property });
}
