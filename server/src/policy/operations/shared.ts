import Type from 'typebox';
import type { OperationContext } from '../../admin/operations/index.js';
import { IsoTime, OperationError } from '../../admin/operations/index.js';
import type { PolicyAssignment, PolicyRecord } from '../../store/index.js';

/** Policy and group names: the store's name syntax. */
export const POLICY_NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,62}$';
export const PolicyName = Type.String({ pattern: POLICY_NAME_PATTERN, maxLength: 63, description: 'policy name (a-z 0-9 . _ -)' });
/** `name` (the latest version) or `name@version`. */
export function policyRef(description = 'policy name, or name@version') {
  return Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,62}(?:@[1-9][0-9]{0,8})?$', maxLength: 73, description });
}
export const PolicyRef = policyRef();

export const PolicyInfo = Type.Object(
  {
    name: Type.String(),
    version: Type.Integer(),
    digest: Type.String({ description: 'SHA-256 of the canonical JSON of the document' }),
    createdAt: IsoTime,
    createdBy: Type.String(),
    description: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);

export const AssignmentInfo = Type.Object(
  {
    target: Type.String({ description: '`device:<id>`, `group:<g>` or `all`' }),
    policy: Type.String({ description: 'name@version, or name@latest' }),
    assignedAt: IsoTime,
    assignedBy: Type.String(),
  },
  { additionalProperties: false },
);

export function policyInfo(p: PolicyRecord) {
  const description = (p.document as { description?: unknown } | null)?.description;
  return {
    name: p.name,
    version: p.version,
    digest: p.digest,
    createdAt: new Date(p.createdAt).toISOString(),
    createdBy: p.createdBy,
    description: typeof description === 'string' ? description : null,
  };
}

export function assignmentInfo(a: PolicyAssignment) {
  const t = a.target;
  return {
    target: t.kind === 'device' ? `device:${t.deviceId}` : t.kind === 'group' ? `group:${t.group}` : 'all',
    policy: `${a.policyName}@${a.policyVersion ?? 'latest'}`,
    assignedAt: new Date(a.assignedAt).toISOString(),
    assignedBy: a.assignedBy,
  };
}

/** The version a `name[@version]` reference names, or a not-found refusal. */
export async function resolvePolicyRef(ctx: OperationContext, ref: string, property: string): Promise<PolicyRecord> {
  const [name, version] = ref.split('@') as [string, string | undefined];
  const record = await ctx.store.getPolicy(name, version === undefined ? undefined : Number(version));
  if (record === null) throw new OperationError('not-found', `no policy ${ref}`, { property });
  return record;
}

/** A change through the running server takes effect at once (the verifier's policy cache reloads). */
export async function reloadVerifierPolicies(ctx: OperationContext): Promise<void> {
  if (ctx.server === undefined) return;
  const { VerifierService } = await import('../../verifier/component.js');
  await ctx.server.services.get(VerifierService)?.policies.reload();
}
