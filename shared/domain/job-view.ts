import type { JobProperties } from './job-schema.js';
import { toolTypeOf } from './job-schema.js';
import { formatBatchAiResourceId, type JobResourceId, RESOURCE_TYPES } from './resource-id.js';
import type { ExecutionState, JobExecutionInfo, ProvisioningInfo, ProvisioningState } from './resource-states.js';
import { provisioning } from './resource-states.js';
import type { ResourceView } from './resource-view.js';
import { redactMountVolumes, redactSecretVariables } from './secrets.js';
import { TOOLKITS } from './toolkit-schema.js';

// The GET representation of a job, built from what the store keeps. Never includes secret values.

export interface JobRecord extends ProvisioningInfo<ProvisioningState> {
  id: JobResourceId;
  /** Unique per creation of this job name (a GUID chosen at submission): keeps outputs of re-created jobs apart. */
  uid: string;
  /** Validated properties (validateJobCreate's value). */
  properties: JobProperties;
  executionState: ExecutionState;
  executionStateTransitionTime: string;
  executionInfo?: JobExecutionInfo;
}

/** A fresh record for an accepted PUT: provisioning starts, the job waits in the queue. */
export function newJobRecord(input: {
  id: JobResourceId;
  uid: string;
  properties: JobProperties;
  now: string;
}): JobRecord {
  return {
    id: input.id,
    uid: input.uid,
    properties: input.properties,
    ...provisioning('creating', input.now),
    executionState: 'queued',
    executionStateTransitionTime: input.now,
  };
}

/**
 * Where the job's outputs and logs go below each output directory's pathPrefix and below stdOutErrPathPrefix; the
 * same layout the service used (`{sub}/{rg}/workspaces/{ws}/experiments/{exp}/jobs/{job}/{uid}`).
 */
export function jobOutputDirectoryPathSegment(id: JobResourceId, uid: string): string {
  return [
    id.subscriptionId,
    id.resourceGroup,
    'workspaces',
    id.workspace,
    'experiments',
    id.experiment,
    'jobs',
    id.job,
    uid,
  ].join('/');
}

export function jobView(record: JobRecord): ResourceView<Record<string, unknown>> {
  const p = record.properties;
  const properties: Record<string, unknown> = {};
  const put = (name: string, value: unknown) => {
    if (value !== undefined) properties[name] = value;
  };
  put('schedulingPriority', p.schedulingPriority);
  put('cluster', { id: p.cluster.id });
  put('mountVolumes', p.mountVolumes && redactMountVolumes(p.mountVolumes));
  put('nodeCount', p.nodeCount);
  put('containerSettings', p.containerSettings && redactContainerSettings(p.containerSettings));
  put('toolType', toolTypeOf(p));
  for (const toolkit of TOOLKITS) put(toolkit.property, p[toolkit.property]);
  put('jobPreparation', p.jobPreparation);
  put('jobOutputDirectoryPathSegment', jobOutputDirectoryPathSegment(record.id, record.uid));
  put('stdOutErrPathPrefix', p.stdOutErrPathPrefix);
  put('inputDirectories', p.inputDirectories);
  put('outputDirectories', p.outputDirectories);
  put('environmentVariables', p.environmentVariables);
  put('secrets', p.secrets && redactSecretVariables(p.secrets));
  put('constraints', { maxWallClockTime: p.constraints.maxWallClockTime });
  put('x-batchai-retryPolicy', p['x-batchai-retryPolicy']);
  put('creationTime', record.creationTime);
  put('provisioningState', record.provisioningState);
  put('provisioningStateTransitionTime', record.provisioningStateTransitionTime);
  put('executionState', record.executionState);
  put('executionStateTransitionTime', record.executionStateTransitionTime);
  put('executionInfo', record.executionInfo);
  // Extension (docs/decisions/0081, 0105): attempts that ended early (preempted, host crashed, node lost, nodes
  // released by a resize, or the job's own failure retried under its retry policy), each with its reason and
  // whether it counted against a cap. Absent until one happens, so clients of the 2018-05-01 shape see nothing new.
  const attempts = (record as { attempts?: unknown[] }).attempts;
  if (attempts && attempts.length > 0) put('x-batchai-attempts', attempts);
  return { id: formatBatchAiResourceId(record.id), name: record.id.job, type: RESOURCE_TYPES.job, properties };
}

function redactContainerSettings(settings: NonNullable<JobProperties['containerSettings']>) {
  const { credentials, ...registry } = settings.imageSourceRegistry;
  const imageSourceRegistry =
    credentials === undefined
      ? registry
      : {
          ...registry,
          credentials:
            credentials.passwordSecretReference === undefined
              ? { username: credentials.username }
              : { username: credentials.username, passwordSecretReference: credentials.passwordSecretReference },
        };
  return settings.shmSize === undefined ? { imageSourceRegistry } : { imageSourceRegistry, shmSize: settings.shmSize };
}
