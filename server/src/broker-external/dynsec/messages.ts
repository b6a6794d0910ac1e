import Type, { type Static } from 'typebox';
import { jsonMessage } from '../json-message.js';

/**
 * The Mosquitto dynamic-security plugin's control API (Mosquitto 2.0,
 * `$CONTROL/dynamic-security/v1`): a JSON object `{ commands: [...] }` is
 * published to the control topic; the plugin answers every command, in
 * order, on `.../response` with `{ responses: [{ command, error?, data?,
 * correlationData? }] }`. Only what Vigil sends and reads is described.
 */
export const DYNSEC_TOPIC = '$CONTROL/dynamic-security/v1';
export const DYNSEC_RESPONSE_TOPIC = '$CONTROL/dynamic-security/v1/response';

export type AclType = 'publishClientSend' | 'publishClientReceive' | 'subscribeLiteral' | 'subscribePattern' | 'unsubscribeLiteral' | 'unsubscribePattern';

export interface Acl {
  readonly acltype: AclType;
  readonly topic: string;
  readonly allow: boolean;
  readonly priority?: number;
}

/** The commands Vigil sends (each may carry a `correlationData` string, echoed in its response). */
export type DynsecCommand =
  | { readonly command: 'createClient'; readonly username: string; readonly textname?: string; readonly roles?: ReadonlyArray<{ readonly rolename: string }> }
  | { readonly command: 'getClient'; readonly username: string }
  | { readonly command: 'listClients'; readonly verbose: boolean; readonly count: number; readonly offset: number }
  | { readonly command: 'enableClient' | 'disableClient'; readonly username: string }
  | { readonly command: 'addClientRole' | 'removeClientRole'; readonly username: string; readonly rolename: string }
  | { readonly command: 'createRole'; readonly rolename: string; readonly textname?: string; readonly acls?: readonly Acl[] }
  | { readonly command: 'getRole'; readonly rolename: string }
  | { readonly command: 'listRoles'; readonly verbose: boolean; readonly count: number; readonly offset: number }
  | ({ readonly command: 'addRoleACL'; readonly rolename: string } & Acl)
  | { readonly command: 'removeRoleACL'; readonly rolename: string; readonly acltype: AclType; readonly topic: string };

const Name = Type.String({ maxLength: 1024 });
const RoleRef = Type.Object({ rolename: Name }, { additionalProperties: true });

const ResponseItem = Type.Object(
  {
    command: Type.String({ maxLength: 64 }),
    error: Type.Optional(Type.String({ maxLength: 4096 })),
    data: Type.Optional(Type.Unknown()),
    correlationData: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { additionalProperties: true },
);

const Responses = Type.Object({ responses: Type.Array(ResponseItem, { maxItems: 100_000 }) }, { additionalProperties: true });
export type DynsecResponse = Static<typeof ResponseItem>;

/** Responses as read off the response topic (at most 64 MiB: a verbose client listing page). */
export const dynsecResponses = jsonMessage(Responses, 64 * 1024 * 1024);

const ClientInfo = Type.Object(
  { username: Name, disabled: Type.Optional(Type.Boolean()), roles: Type.Optional(Type.Array(RoleRef, { maxItems: 10_000 })) },
  { additionalProperties: true },
);
export type DynsecClientInfo = Static<typeof ClientInfo>;

/** `data` of a verbose `listClients`. */
export const ListClientsData = Type.Object({ totalCount: Type.Integer({ minimum: 0 }), clients: Type.Array(ClientInfo, { maxItems: 100_000 }) }, { additionalProperties: true });
/** `data` of a non-verbose `listRoles`: role names. */
export const ListRolesData = Type.Object({ totalCount: Type.Integer({ minimum: 0 }), roles: Type.Array(Type.Union([Name, RoleRef]), { maxItems: 100_000 }) }, { additionalProperties: true });
/** `data` of `getClient`. */
export const GetClientData = Type.Object({ client: ClientInfo }, { additionalProperties: true });

const AclInfo = Type.Object(
  {
    acltype: Type.Union(['publishClientSend', 'publishClientReceive', 'subscribeLiteral', 'subscribePattern', 'unsubscribeLiteral', 'unsubscribePattern'].map((t) => Type.Literal(t))),
    topic: Type.String({ maxLength: 65_535 }),
    allow: Type.Boolean(),
    priority: Type.Optional(Type.Integer()),
  },
  { additionalProperties: true },
);
/** `data` of `getRole`. */
export const GetRoleData = Type.Object({ role: Type.Object({ rolename: Name, acls: Type.Optional(Type.Array(AclInfo, { maxItems: 100_000 })) }, { additionalProperties: true }) }, { additionalProperties: true });
