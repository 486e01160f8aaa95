// Azure RBAC, the part Batch AI relied on: who may perform which action at which scope. Pure data and
// functions (no I/O): the HTTP layer resolves a principal and its assignments, then asks `decideAccess`.
//
// Semantics follow Azure's built-in roles: a role definition is a list of allowed action patterns minus
// excluded ones (`*` matches anything, case-insensitive), an assignment grants a role at a scope, and a
// scope covers itself and everything below it. Our one custom role, Job submitter, also carries an
// ownership condition: its job actions apply only to jobs the principal created.

export type PrincipalType = 'User' | 'Group' | 'ServicePrincipal' | 'FunctionKey' | 'SubmissionChannel';

export interface Principal {
  /** The object id (Entra `oid`) or, for keys and channels, a stable label such as `function-key/default`. */
  id: string;
  type: PrincipalType;
  /** For messages and logs only; never used for a decision. */
  displayName?: string;
  /** Object ids of the groups the principal is a member of (Entra's `groups` claim): their assignments apply too. */
  groupIds?: readonly string[];
}

/** Whether an assignment is the principal's own or one of its groups'. */
export function holds(principal: Pick<Principal, 'id' | 'groupIds'>, assignment: RoleAssignment): boolean {
  const id = assignment.principalId.toLowerCase();
  return id === principal.id.toLowerCase() || (principal.groupIds ?? []).some((g) => g.toLowerCase() === id);
}

export interface RoleDefinition {
  /** The role definition's GUID (Azure's built-in ones for Owner, Contributor and Reader). */
  id: string;
  roleName: string;
  description: string;
  actions: readonly string[];
  notActions: readonly string[];
  /** Job actions allowed only on jobs the principal created (recorded on the job as `createdBy`). */
  ownJobsOnly?: boolean;
}

export const OWNER_ROLE_ID = '8e3af657-a8ff-443c-a75c-2fe8c4bcb635';
export const CONTRIBUTOR_ROLE_ID = 'b24988ac-6180-42a0-ab88-20f7382dd24c';
export const READER_ROLE_ID = 'acdd72a7-3385-48ef-bd42-f606fba81ae7';
/** Not an Azure built-in (Batch AI had none): a fixed GUID of our own, documented in docs/auth.md. */
export const JOB_SUBMITTER_ROLE_ID = '5b1c2a1e-7d6f-4c1b-9a44-b47c0000a1b0';

const JOBS = 'Microsoft.BatchAI/workspaces/experiments/jobs';

export const BUILT_IN_ROLES: readonly RoleDefinition[] = [
  {
    id: OWNER_ROLE_ID,
    roleName: 'Owner',
    description: 'Grants full access to manage all resources, including the ability to assign roles.',
    actions: ['*'],
    notActions: [],
  },
  {
    id: CONTRIBUTOR_ROLE_ID,
    roleName: 'Contributor',
    description: 'Grants full access to manage all resources, but does not allow you to assign roles.',
    actions: ['*'],
    notActions: ['Microsoft.Authorization/*/Delete', 'Microsoft.Authorization/*/Write'],
  },
  {
    id: READER_ROLE_ID,
    roleName: 'Reader',
    description: 'View all resources, but does not allow you to make any changes.',
    actions: ['*/read'],
    notActions: [],
  },
  {
    id: JOB_SUBMITTER_ROLE_ID,
    roleName: 'Batch AI Job Submitter',
    description: 'Submits jobs, and reads and terminates the jobs it submitted; nothing else.',
    actions: [
      `${JOBS}/read`,
      `${JOBS}/write`,
      `${JOBS}/terminate/action`,
      `${JOBS}/listOutputFiles/action`,
      `${JOBS}/listRemoteLoginInformation/action`,
      'Microsoft.BatchAI/locations/operationresults/read',
      'Microsoft.BatchAI/locations/operationStatuses/read',
    ],
    notActions: [],
    ownJobsOnly: true,
  },
];

/** Short names accepted by the local token command and in docs (`--role Reader`). */
export const ROLE_ALIASES: Record<string, string> = {
  owner: OWNER_ROLE_ID,
  contributor: CONTRIBUTOR_ROLE_ID,
  reader: READER_ROLE_ID,
  jobsubmitter: JOB_SUBMITTER_ROLE_ID,
  'job-submitter': JOB_SUBMITTER_ROLE_ID,
  'batch ai job submitter': JOB_SUBMITTER_ROLE_ID,
};

export function roleByGuid(guid: string): RoleDefinition | undefined {
  return BUILT_IN_ROLES.find((r) => r.id === guid.toLowerCase());
}

/** `/subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}` → the role (or undefined). */
export function roleFromDefinitionId(roleDefinitionId: string): RoleDefinition | undefined {
  const m =
    /^(?:\/subscriptions\/[^/]+)?\/providers\/Microsoft\.Authorization\/roleDefinitions\/([0-9a-f-]{36})$/i.exec(
      roleDefinitionId,
    );
  return m ? roleByGuid(m[1]!) : undefined;
}

export function roleDefinitionIdOf(subscriptionId: string, roleGuid: string): string {
  return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`;
}

export interface RoleAssignment {
  /** The assignment's name: a GUID, unique across scopes as in Azure. */
  name: string;
  /** Where it applies: `/`, `/subscriptions/{s}`, a resource group or a resource id. */
  scope: string;
  roleDefinitionId: string;
  principalId: string;
  principalType?: PrincipalType | undefined;
}

/** The scope with redundant slashes and a trailing slash removed; `/` is the root (everything). */
export function normalizeScope(scope: string): string {
  const parts = scope.split('/').filter((p) => p !== '');
  return `/${parts.join('/')}`;
}

/** Whether an assignment at `scope` applies to `target` (itself or anything below it), case-insensitively. */
export function scopeCovers(scope: string, target: string): boolean {
  const s = normalizeScope(scope).toLowerCase();
  const t = normalizeScope(target).toLowerCase();
  return s === '/' || t === s || t.startsWith(`${s}/`);
}

function patternMatches(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 'i');
  return re.test(action);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

export function roleAllows(role: RoleDefinition, action: string): boolean {
  return role.actions.some((p) => patternMatches(p, action)) && !role.notActions.some((p) => patternMatches(p, action));
}

/** What one request needs: an action (`Microsoft.BatchAI/workspaces/read`) on a target resource or scope. */
export interface AccessRequest {
  action: string;
  /** The ARM path the request addresses (a resource id, a collection under one, or a scope). */
  target: string;
  /**
   * For actions on one job: who created it (undefined when the job does not exist yet, or when the request
   * is not about one job). Decides Job submitter's ownership condition.
   */
  job?: { exists: boolean; createdBy?: string | undefined };
}

export type AccessDecision =
  | { allowed: true; ownJobsOnly: boolean }
  | { allowed: false; reason: 'noAssignment' | 'notPermitted' | 'notOwnJob' };

function isJobAction(action: string): boolean {
  return action.toLowerCase().startsWith(`${JOBS.toLowerCase()}/`);
}

/**
 * Whether `principal`, holding `assignments`, may perform the request. `ownJobsOnly` on an allowed decision
 * says the grant came only from an ownership-conditioned role: listings must then show only the principal's
 * own jobs.
 */
export function decideAccess(
  principal: Pick<Principal, 'id' | 'groupIds'>,
  assignments: readonly RoleAssignment[],
  request: AccessRequest,
): AccessDecision {
  const applicable = assignments.filter((a) => holds(principal, a) && scopeCovers(a.scope, request.target));
  if (applicable.length === 0) return { allowed: false, reason: 'noAssignment' };
  let conditional = false;
  let notOwn = false;
  for (const a of applicable) {
    const role = roleFromDefinitionId(a.roleDefinitionId);
    if (!role || !roleAllows(role, request.action)) continue;
    if (!role.ownJobsOnly || !isJobAction(request.action)) return { allowed: true, ownJobsOnly: false };
    // The ownership condition: a job that exists must be the principal's; a new one becomes the principal's.
    if (request.job?.exists && request.job.createdBy !== principal.id) {
      notOwn = true;
      continue;
    }
    conditional = true;
  }
  if (conditional) return { allowed: true, ownJobsOnly: true };
  return { allowed: false, reason: notOwn ? 'notOwnJob' : 'notPermitted' };
}

/** Whether the principal holds any assignment at, above or below `target` (a listing may then be filtered). */
export function hasAnyAssignmentAround(
  principal: Pick<Principal, 'id' | 'groupIds'>,
  assignments: readonly RoleAssignment[],
  target: string,
): boolean {
  return assignments.some((a) => holds(principal, a) && (scopeCovers(a.scope, target) || scopeCovers(target, a.scope)));
}

/**
 * The action a request performs, derived from its ARM route template and method as Azure names them:
 * `…/workspaces/{w}/experiments/{e}` GET → `Microsoft.BatchAI/workspaces/experiments/read`; a trailing literal
 * on POST is an action (`…/jobs/{j}/terminate` → `…/jobs/terminate/action`); a collection GET reads its type.
 */
export function actionOf(method: string, routeTemplate: string): string {
  const segments = routeTemplate.split('/').filter((s) => s !== '');
  const providers = segments.lastIndexOf('providers');
  if (providers < 0 || providers + 1 >= segments.length) throw new Error(`no provider in route ${routeTemplate}`);
  const namespace = segments[providers + 1]!;
  const rest = segments.slice(providers + 2);
  const types: string[] = [];
  let trailing: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const seg = rest[i]!;
    if (seg.startsWith('{')) continue;
    if (i + 1 < rest.length && rest[i + 1]!.startsWith('{')) types.push(seg);
    else if (i === rest.length - 1) trailing = seg;
    else types.push(seg);
  }
  const m = method.toUpperCase();
  if (m === 'POST' && trailing !== undefined) return [namespace, ...types, trailing, 'action'].join('/');
  if (trailing !== undefined) types.push(trailing);
  const verb = m === 'GET' ? 'read' : m === 'DELETE' ? 'delete' : 'write';
  return [namespace, ...types, verb].join('/');
}

/** The read action for an item of a listing, from its resource id (`…/workspaces/w` → `…/workspaces/read`). */
export function readActionOfId(resourceId: string): string {
  const segments = resourceId.split('/').filter((s) => s !== '');
  const providers = segments.lastIndexOf('providers');
  if (providers < 0) return 'Microsoft.Resources/subscriptions/read';
  const types = segments.slice(providers + 2).filter((_s, i) => i % 2 === 0);
  return [segments[providers + 1], ...types, 'read'].join('/');
}
