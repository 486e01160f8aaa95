import type { HttpResponseInit } from '@azure/functions';
import { listClusterRemoteLogins, withLiveNodeCounts } from '../../shared/api/cluster-nodes.js';
import { deleteResource } from '../../shared/api/delete-resource.js';
import { deleteRoleAssignmentsAtOrBelow } from '../../shared/api/delete-role-assignment.js';
import { listJobOutputFiles, listJobRemoteLogins } from '../../shared/api/job-queries.js';
import { listUsages } from '../../shared/api/list-usages.js';
import { PROVIDER_OPERATIONS } from '../../shared/api/provider-operations.js';
import { putCluster, updateCluster } from '../../shared/api/put-cluster.js';
import { putExperiment } from '../../shared/api/put-experiment.js';
import { putFileServer } from '../../shared/api/put-file-server.js';
import { type PutOutcome, putWorkspace, updateWorkspace } from '../../shared/api/put-workspace.js';
import { getResource, listChildren, listWorkspaces } from '../../shared/api/read-resources.js';
import { viewOf } from '../../shared/api/records.js';
import { submitJob } from '../../shared/api/submit-job.js';
import { terminateJob } from '../../shared/api/terminate-job.js';
import type { RequestBodyName } from '../../shared/domain/json-schemas.js';
import type { BatchAiResourceKind } from '../../shared/domain/resource-id.js';
import {
  type ArmCall,
  type ArmHandler,
  accepted,
  json,
  listPage,
  pagingOptions,
  resourceIdFromPath,
} from './arm-http.js';
import { type RouteAccess, targetOf } from './authorize.js';
import { getOperationResult, getOperationStatus } from './operation-results.js';
import { roleAssignmentRoutes } from './role-assignment-routes.js';
import { DEFAULT_SUBMISSION_RATE, principalKey, RateLimiter } from './submission-rate.js';

let limiter: RateLimiter | undefined;
/** One limiter per app instance, sized by the settings (read once). */
function submissionLimiter(settings: { submissionRate?: { burst: number; perMinute: number } }): RateLimiter {
  limiter ??= new RateLimiter(settings.submissionRate ?? DEFAULT_SUBMISSION_RATE);
  return limiter;
}

// The whole HTTP API in one table: every operation of the Batch AI 2018-05-01 spec (and the two
// operation-polling endpoints ARM long-running operations need), keyed by the spec's operationId.

const SUB = 'subscriptions/{subscriptionId}';
const RG = `${SUB}/resourceGroups/{resourceGroupName}/providers/Microsoft.BatchAI`;
const WS = `${RG}/workspaces/{workspaceName}`;
const EXP = `${WS}/experiments/{experimentName}`;
const JOB = `${EXP}/jobs/{jobName}`;
const CLUSTER = `${WS}/clusters/{clusterName}`;
const FILE_SERVER = `${WS}/fileServers/{fileServerName}`;
const LOCATION = `${SUB}/providers/Microsoft.BatchAI/locations/{location}`;

export interface ApiRoute {
  operationId: string;
  method: 'GET' | 'PUT' | 'PATCH' | 'DELETE' | 'POST';
  route: string;
  description: string;
  /** The request body's schema name, for the OpenAPI document. */
  body?: RequestBodyName;
  /** The resource the route answers with, for the OpenAPI document. */
  returns?: BatchAiResourceKind | 'list' | 'none';
  longRunning?: boolean;
  /** How authorize.ts checks it: the ARM action at the route's path (default), or another rule. */
  access?: RouteAccess;
  /** api-versions other than Batch AI's (the Microsoft.Authorization routes). */
  apiVersions?: readonly string[];
  handler: ArmHandler;
}

/** PUT answer: 200 with the resource when it is ready, 202 + operation URLs while it is provisioning. */
function putResponse(call: ArmCall, outcome: PutOutcome): HttpResponseInit {
  const view = viewOf(outcome.resource);
  return outcome.operationId ? accepted(call, outcome.operationId, view) : json(200, view);
}

const get =
  (kind: BatchAiResourceKind): ArmHandler =>
  async (call) =>
    json(200, await getResource(call.deps, resourceIdFromPath(kind, call.params)));

const list =
  (parent: 'workspace' | 'experiment', kind: BatchAiResourceKind): ArmHandler =>
  async (call) =>
    listPage(
      call,
      await listChildren(call.deps, resourceIdFromPath(parent, call.params), kind, pagingOptions(call.query)),
    );

const remove =
  (kind: BatchAiResourceKind): ArmHandler =>
  async (call) => {
    const result = await deleteResource(call.deps, resourceIdFromPath(kind, call.params));
    return result ? accepted(call, result.operationId) : { status: 204 };
  };

export const API_ROUTES: readonly ApiRoute[] = [
  {
    operationId: 'Operations_List',
    method: 'GET',
    route: 'providers/Microsoft.BatchAI/operations',
    description: 'Lists the Microsoft.BatchAI operations.',
    returns: 'list',
    access: 'anyPrincipal',
    handler: async (call) => listPage(call, { value: [...PROVIDER_OPERATIONS] }),
  },
  {
    operationId: 'Usages_List',
    method: 'GET',
    route: `${LOCATION}/usages`,
    description: 'Gets the current usage information and limits for Batch AI resources in a location.',
    returns: 'list',
    handler: async (call) =>
      listPage(
        call,
        await listUsages(call.deps, { subscriptionId: call.params.subscriptionId!, location: call.params.location! }),
      ),
  },
  {
    operationId: 'Workspaces_List',
    method: 'GET',
    route: `${SUB}/providers/Microsoft.BatchAI/workspaces`,
    description: 'Gets a list of workspaces in a subscription.',
    returns: 'list',
    handler: async (call) =>
      listPage(
        call,
        await listWorkspaces(call.deps, { subscriptionId: call.params.subscriptionId! }, pagingOptions(call.query)),
      ),
  },
  {
    operationId: 'Workspaces_ListByResourceGroup',
    method: 'GET',
    route: `${RG}/workspaces`,
    description: 'Gets a list of workspaces in a resource group.',
    returns: 'list',
    handler: async (call) =>
      listPage(
        call,
        await listWorkspaces(
          call.deps,
          { subscriptionId: call.params.subscriptionId!, resourceGroup: call.params.resourceGroupName! },
          pagingOptions(call.query),
        ),
      ),
  },
  {
    operationId: 'Workspaces_Create',
    method: 'PUT',
    route: WS,
    description: 'Creates a workspace (or updates its tags).',
    body: 'WorkspaceCreateParameters',
    returns: 'workspace',
    longRunning: true,
    handler: async (call) =>
      putResponse(call, await putWorkspace(call.deps, resourceIdFromPath('workspace', call.params), await call.body())),
  },
  {
    operationId: 'Workspaces_Update',
    method: 'PATCH',
    route: WS,
    description: 'Updates the tags of a workspace.',
    body: 'WorkspaceUpdateParameters',
    returns: 'workspace',
    handler: async (call) =>
      json(
        200,
        viewOf(await updateWorkspace(call.deps, resourceIdFromPath('workspace', call.params), await call.body())),
      ),
  },
  {
    operationId: 'Workspaces_Delete',
    method: 'DELETE',
    route: WS,
    description: 'Deletes a workspace and everything in it.',
    returns: 'none',
    longRunning: true,
    handler: async (call) => {
      const response = await remove('workspace')(call);
      // Only when a workspace was there to delete: its role assignments go with it.
      if (response.status === 202) {
        await deleteRoleAssignmentsAtOrBelow({ roleAssignments: call.auth.roleAssignments }, targetOf(WS, call.params));
      }
      return response;
    },
  },
  {
    operationId: 'Workspaces_Get',
    method: 'GET',
    route: WS,
    description: 'Gets a workspace.',
    returns: 'workspace',
    handler: get('workspace'),
  },
  {
    operationId: 'Experiments_ListByWorkspace',
    method: 'GET',
    route: `${WS}/experiments`,
    description: 'Lists the experiments of a workspace.',
    returns: 'list',
    handler: list('workspace', 'experiment'),
  },
  {
    operationId: 'Experiments_Create',
    method: 'PUT',
    route: EXP,
    description: 'Creates an experiment.',
    returns: 'experiment',
    longRunning: true,
    handler: async (call) =>
      putResponse(
        call,
        await putExperiment(call.deps, resourceIdFromPath('experiment', call.params), await call.body()),
      ),
  },
  {
    operationId: 'Experiments_Delete',
    method: 'DELETE',
    route: EXP,
    description: 'Deletes an experiment and its jobs.',
    returns: 'none',
    longRunning: true,
    handler: remove('experiment'),
  },
  {
    operationId: 'Experiments_Get',
    method: 'GET',
    route: EXP,
    description: 'Gets an experiment.',
    returns: 'experiment',
    handler: get('experiment'),
  },
  {
    operationId: 'Jobs_ListByExperiment',
    method: 'GET',
    route: `${EXP}/jobs`,
    description: 'Lists the jobs of an experiment.',
    returns: 'list',
    handler: list('experiment', 'job'),
  },
  {
    operationId: 'Jobs_Create',
    method: 'PUT',
    route: JOB,
    description: 'Submits a job (the same job submitted again is a no-op).',
    body: 'JobCreateParameters',
    returns: 'job',
    longRunning: true,
    handler: async (call) => {
      submissionLimiter(call.deps.settings).take(principalKey(call.request, call.auth.principal));
      return putResponse(
        call,
        await submitJob(call.deps, resourceIdFromPath('job', call.params), await call.body(), {
          createdBy: call.auth.principal.id,
        }),
      );
    },
  },
  {
    operationId: 'Jobs_Delete',
    method: 'DELETE',
    route: JOB,
    description: 'Deletes a job (terminating it first).',
    returns: 'none',
    longRunning: true,
    handler: remove('job'),
  },
  {
    operationId: 'Jobs_Get',
    method: 'GET',
    route: JOB,
    description: 'Gets a job.',
    returns: 'job',
    handler: get('job'),
  },
  {
    operationId: 'Jobs_ListOutputFiles',
    method: 'POST',
    route: `${JOB}/listOutputFiles`,
    description: "Lists the files of one of a job's output directories.",
    returns: 'list',
    handler: async (call) =>
      listPage(
        call,
        await listJobOutputFiles(call.deps, resourceIdFromPath('job', call.params), {
          outputdirectoryid: call.query.get('outputdirectoryid'),
          directory: call.query.get('directory'),
          linkexpiryinminutes: call.query.get('linkexpiryinminutes'),
          maxresults: call.query.get('maxresults'),
          ...(call.query.get('$skipToken') ? { continuation: call.query.get('$skipToken')! } : {}),
          baseUrl: `${new URL(call.request.url).origin}/api`,
        }),
      ),
  },
  {
    operationId: 'Jobs_ListRemoteLoginInformation',
    method: 'POST',
    route: `${JOB}/listRemoteLoginInformation`,
    description: 'Lists the nodes a job runs on, with their IP addresses and SSH ports.',
    returns: 'list',
    handler: async (call) =>
      listPage(call, await listJobRemoteLogins(call.deps, resourceIdFromPath('job', call.params))),
  },
  {
    operationId: 'Jobs_Terminate',
    method: 'POST',
    route: `${JOB}/terminate`,
    description: 'Terminates a job.',
    returns: 'none',
    longRunning: true,
    handler: async (call) =>
      accepted(call, (await terminateJob(call.deps, resourceIdFromPath('job', call.params))).operationId),
  },
  {
    operationId: 'FileServers_Create',
    method: 'PUT',
    route: FILE_SERVER,
    description: 'Creates a file server (an NFS server on a VM).',
    body: 'FileServerCreateParameters',
    returns: 'fileServer',
    longRunning: true,
    handler: async (call) =>
      putResponse(
        call,
        await putFileServer(call.deps, resourceIdFromPath('fileServer', call.params), await call.body()),
      ),
  },
  {
    operationId: 'FileServers_Delete',
    method: 'DELETE',
    route: FILE_SERVER,
    description: 'Deletes a file server.',
    returns: 'none',
    longRunning: true,
    handler: remove('fileServer'),
  },
  {
    operationId: 'FileServers_Get',
    method: 'GET',
    route: FILE_SERVER,
    description: 'Gets a file server.',
    returns: 'fileServer',
    handler: get('fileServer'),
  },
  {
    operationId: 'FileServers_ListByWorkspace',
    method: 'GET',
    route: `${WS}/fileServers`,
    description: 'Lists the file servers of a workspace.',
    returns: 'list',
    handler: list('workspace', 'fileServer'),
  },
  {
    operationId: 'Clusters_Create',
    method: 'PUT',
    route: CLUSTER,
    description: 'Creates a cluster.',
    body: 'ClusterCreateParameters',
    returns: 'cluster',
    longRunning: true,
    handler: async (call) =>
      putResponse(call, await putCluster(call.deps, resourceIdFromPath('cluster', call.params), await call.body())),
  },
  {
    operationId: 'Clusters_Update',
    method: 'PATCH',
    route: CLUSTER,
    description: "Updates a cluster's scale settings.",
    body: 'ClusterUpdateParameters',
    returns: 'cluster',
    handler: async (call) =>
      json(
        200,
        viewOf(
          await withLiveNodeCounts(
            call.deps,
            await updateCluster(call.deps, resourceIdFromPath('cluster', call.params), await call.body()),
          ),
        ),
      ),
  },
  {
    operationId: 'Clusters_Delete',
    method: 'DELETE',
    route: CLUSTER,
    description: 'Deletes a cluster.',
    returns: 'none',
    longRunning: true,
    handler: remove('cluster'),
  },
  {
    operationId: 'Clusters_Get',
    method: 'GET',
    route: CLUSTER,
    description: 'Gets a cluster.',
    returns: 'cluster',
    handler: get('cluster'),
  },
  {
    operationId: 'Clusters_ListRemoteLoginInformation',
    method: 'POST',
    route: `${CLUSTER}/listRemoteLoginInformation`,
    description: "Lists a cluster's nodes with their IP addresses and SSH ports.",
    returns: 'list',
    handler: async (call) =>
      listPage(call, await listClusterRemoteLogins(call.deps, resourceIdFromPath('cluster', call.params))),
  },
  {
    operationId: 'Clusters_ListByWorkspace',
    method: 'GET',
    route: `${WS}/clusters`,
    description: 'Lists the clusters of a workspace.',
    returns: 'list',
    handler: list('workspace', 'cluster'),
  },
  {
    operationId: 'OperationResults_Get',
    method: 'GET',
    route: `${LOCATION}/operationresults/{operationId}`,
    description: 'Polls a long-running operation: 202 while it runs, then its result.',
    returns: 'none',
    access: 'operation',
    handler: getOperationResult,
  },
  {
    operationId: 'OperationStatuses_Get',
    method: 'GET',
    route: `${LOCATION}/operationStatuses/{operationId}`,
    description: 'The status of a long-running operation (Azure-AsyncOperation).',
    returns: 'none',
    access: 'operation',
    handler: getOperationStatus,
  },
  ...roleAssignmentRoutes(),
];
