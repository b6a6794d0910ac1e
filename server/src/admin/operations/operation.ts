import type { Static, TObject, TSchema } from 'typebox';
import type { ExitCode } from '../../cli/exit-codes.js';
import type { Role } from '../roles.js';
import type { OnlineOperationContext, OperationContext } from './context.js';
import { OperationError } from './errors.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** How one input property appears on the command line, when the defaults derived from the schema do not fit. */
export interface CliOptionHint {
  /** Default: `--<kebab-case property name>`. */
  readonly flag?: string;
  /** Placeholder in `--help`, default the property name. */
  readonly valueName?: string;
  /** Default: the property schema's `description`. */
  readonly description?: string;
}

/**
 * The command-line face of an operation. Input properties become options
 * (`maxUses` → `--max-uses <maxUses>`; booleans become flags) unless they are
 * listed in `arguments`; `--data` and `--json` are added to every command.
 */
export interface CliBinding<In, Out> {
  /** Command words, e.g. `['devices', 'list']` for `vigil-server devices list`. */
  readonly command: readonly [string, ...string[]];
  /** Default: the operation's summary. */
  readonly description?: string;
  /** Input properties taken as positional arguments, in this order. */
  readonly arguments?: readonly (keyof In & string)[];
  readonly options?: { readonly [K in keyof In & string]?: CliOptionHint };
  /** Human output (aligned tables, sentences), ending with a newline; `--json` prints `json(output)` instead. */
  readonly render: (output: Out, input: In) => string;
  /** What `--json` prints; default the output itself. */
  readonly json?: (output: Out) => unknown;
  /** Exit code for a successful call, e.g. 1 when the thing checked is not trustworthy; default 0. */
  readonly exitCode?: (output: Out) => ExitCode;
}

/** An admin operation as its author declares it (see `defineOperation`). */
export interface OperationSpec<I extends TObject, O extends TSchema, Offline extends boolean> {
  /** `area.verb`, e.g. `devices.list`; also the OpenAPI operationId. */
  readonly name: string;
  /** One line, for the OpenAPI document and `--help`. */
  readonly summary: string;
  readonly description?: string;
  readonly method: HttpMethod;
  /** Route, with `:param` segments naming input properties, e.g. `/v1/devices/:id`. */
  readonly path: string;
  /** The least role allowed to call it. */
  readonly role: Role;
  /**
   * Every input, as one object: path parameters, then (GET/DELETE) query
   * parameters or (POST/PUT/PATCH) the JSON body. Validated, with defaults
   * applied, before the handler sees it.
   */
  readonly input: I;
  readonly output: O;
  /**
   * True if the CLI may run it directly on the database when no server is
   * running. False for what needs the live server (attest now, anything
   * that talks to devices).
   */
  readonly offline: Offline;
  readonly handler: (ctx: Offline extends true ? OperationContext : OnlineOperationContext, input: Static<I>) => Promise<Static<O>>;
  readonly cli?: CliBinding<Static<I>, Static<O>>;
}

/** A declared operation, with its types erased so that operations of every shape fit in one registry. */
export interface Operation {
  readonly name: string;
  readonly summary: string;
  readonly description: string | undefined;
  readonly method: HttpMethod;
  readonly path: string;
  readonly role: Role;
  readonly input: TObject;
  readonly output: TSchema;
  readonly offline: boolean;
  /** Anything but GET changes state: the API audits refusals of it, and the CLI never retries it. */
  readonly mutating: boolean;
  /** The `:param` names in `path`, in order. */
  readonly pathParams: readonly string[];
  /** Runs the handler on input already validated against `input`. */
  run(ctx: OperationContext, input: unknown): Promise<unknown>;
  readonly cli: CliBinding<Record<string, unknown>, unknown> | undefined;
}

const NAME = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/;
const PATH = /^(\/(?:[a-z0-9-]+|:[A-Za-z][A-Za-z0-9]*))+$/;

/**
 * Declares an admin operation once; the registry turns it into an HTTPS
 * route, an OpenAPI entry and a CLI command. Checks the declaration itself
 * (name and path syntax, path parameters that are input properties, query
 * inputs that are scalars) so a mistake fails at start-up, not on a call.
 */
export function defineOperation<I extends TObject, O extends TSchema, Offline extends boolean>(spec: OperationSpec<I, O, Offline>): Operation {
  if (!NAME.test(spec.name)) throw new Error(`operation name ${JSON.stringify(spec.name)} is not area.verb`);
  if (!PATH.test(spec.path)) throw new Error(`operation ${spec.name}: path ${JSON.stringify(spec.path)} is not /segment/:param/...`);
  const properties = spec.input.properties as Readonly<Record<string, TSchema>>;
  const pathParams = [...spec.path.matchAll(/:([A-Za-z][A-Za-z0-9]*)/g)].map((m) => m[1]!);
  for (const p of pathParams) {
    if (!(p in properties)) throw new Error(`operation ${spec.name}: path parameter :${p} is not an input property`);
    if (!(spec.input.required ?? []).includes(p)) throw new Error(`operation ${spec.name}: path parameter :${p} must be a required input`);
  }
  const inQuery = spec.method === 'GET' || spec.method === 'DELETE';
  if (inQuery) {
    for (const [key, schema] of Object.entries(properties)) {
      if (!isScalar(schema)) throw new Error(`operation ${spec.name}: ${spec.method} input ${key} travels in the query string and must be a scalar`);
    }
  }
  for (const a of spec.cli?.arguments ?? []) {
    if (!(a in properties)) throw new Error(`operation ${spec.name}: CLI argument ${a} is not an input property`);
  }
  const handler = spec.handler as (ctx: OperationContext, input: unknown) => Promise<unknown>;
  return {
    name: spec.name,
    summary: spec.summary,
    description: spec.description,
    method: spec.method,
    path: spec.path,
    role: spec.role,
    input: spec.input,
    output: spec.output,
    offline: spec.offline,
    mutating: spec.method !== 'GET',
    pathParams,
    async run(ctx, input) {
      if (!spec.offline && ctx.server === undefined) {
        throw new OperationError('unavailable', `${spec.name} needs the running server`);
      }
      return handler(ctx, input);
    },
    // Sound: the registry only ever passes the handler's own validated input and output.
    cli: spec.cli as unknown as CliBinding<Record<string, unknown>, unknown> | undefined,
  };
}

interface SchemaShape {
  readonly type?: string;
  readonly anyOf?: readonly SchemaShape[];
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
}

function isScalar(schema: TSchema): boolean {
  const s = schema as SchemaShape;
  if (s.anyOf) return s.anyOf.every(isScalar);
  if (s.enum) return s.enum.every((v) => ['string', 'number', 'boolean'].includes(typeof v));
  if (s.const !== undefined) return ['string', 'number', 'boolean'].includes(typeof s.const);
  return s.type === 'string' || s.type === 'integer' || s.type === 'number' || s.type === 'boolean';
}
