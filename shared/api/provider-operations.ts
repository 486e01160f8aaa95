// Operations_List: the Microsoft.BatchAI operations an RBAC role can grant, as the provider published them.
const RESOURCES = [
  ['workspaces', 'Batch AI Workspaces', 'workspace'],
  ['workspaces/experiments', 'Batch AI Experiments', 'experiment'],
  ['workspaces/experiments/jobs', 'Batch AI Jobs', 'job'],
  ['workspaces/clusters', 'Batch AI Clusters', 'cluster'],
  ['workspaces/fileservers', 'Batch AI File Servers', 'file server'],
] as const;

export interface ProviderOperation {
  name: string;
  display: { provider: string; resource: string; operation: string; description: string };
  origin: 'user,system';
}

function op(path: string, resource: string, verb: string, operation: string, description: string): ProviderOperation {
  return {
    name: `Microsoft.BatchAI/${path}/${verb}`,
    display: { provider: 'Microsoft Batch AI', resource, operation, description },
    origin: 'user,system',
  };
}

export const PROVIDER_OPERATIONS: readonly ProviderOperation[] = [
  ...RESOURCES.flatMap(([path, resource, noun]) => [
    op(
      path,
      resource,
      'read',
      `List or get Batch AI ${noun}s`,
      `Lists Batch AI ${noun}s or gets the properties of a Batch AI ${noun}`,
    ),
    op(
      path,
      resource,
      'write',
      `Create or update Batch AI ${noun}`,
      `Creates a new Batch AI ${noun} or updates an existing one`,
    ),
    op(path, resource, 'delete', `Delete Batch AI ${noun}`, `Deletes a Batch AI ${noun}`),
  ]),
  op(
    'workspaces/experiments/jobs',
    'Batch AI Jobs',
    'terminate/action',
    'Terminate Batch AI job',
    'Terminates a Batch AI job',
  ),
  op(
    'workspaces/experiments/jobs',
    'Batch AI Jobs',
    'listoutputfiles/action',
    'List Batch AI job output files',
    'Lists the output files of a Batch AI job',
  ),
  op(
    'workspaces/experiments/jobs',
    'Batch AI Jobs',
    'listremotelogininformation/action',
    'List remote login information',
    'Lists the nodes a Batch AI job runs on',
  ),
  op(
    'workspaces/clusters',
    'Batch AI Clusters',
    'listremotelogininformation/action',
    'List remote login information',
    'Lists the nodes of a Batch AI cluster',
  ),
  op(
    'locations/usages',
    'Batch AI Usages',
    'read',
    'Get Batch AI usages',
    'Gets the Batch AI usages and quota of a subscription in a location',
  ),
  op(
    'locations/operationresults',
    'Batch AI Operation Results',
    'read',
    'Get operation results',
    'Gets the result of a long-running Batch AI operation',
  ),
];
