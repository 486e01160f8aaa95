import { app } from '@azure/functions';
import * as df from 'durable-functions';
import { registerComputeLifecycle } from '../orchestrations/cluster-lifecycle.js';
import { registerClusterScheduler } from '../orchestrations/cluster-scheduler.js';
import { registerJobLifecycle } from '../orchestrations/job-lifecycle.js';
import { signalClusterDemand } from '../orchestrations/lifecycles.js';
import { registerManifestSubmissions } from './blob/submit-job-manifest.js';
import { appServices, computeDeps, jobRunDeps } from './dependencies.js';
import { registerVmEvents } from './eventgrid/handle-vm-event.js';
import { registerOutputDownloads } from './http/download-output-file.js';
import { registerApiRoutes } from './http/register-api.js';
import { registerLogRedaction } from './log-redaction.js';
import { registerAgentEvents } from './queue/handle-agent-event.js';
import { registerPoisonSealing } from './queue/seal-poison-messages.js';
import { registerQueueSubmissions } from './queue/submit-job-from-queue.js';
import { registerReconciler } from './timers/reconcile-resources.js';

// Every entry point of the app, in one list. Triggers translate and hand off; rules live in shared/.
app.setup({ enableHttpStream: false });
registerLogRedaction(); // secrets never reach a log line, whichever function writes it

registerApiRoutes(); // the Batch AI REST API (one function per operation) and its OpenAPI document
registerOutputDownloads(); // signed download links of output files on shares and file server exports
registerQueueSubmissions(); // job-submissions queue
registerPoisonSealing(); // what the host moved to job-submissions-poison raw, sealed
registerManifestSubmissions(); // manifests/{workspace}/{experiment}/{job}.json via Event Grid
registerAgentEvents(); // node-events queue: what node agents report
registerVmEvents(); // VM health events (Event Grid): evictions, host crashes
// one orchestration per job; a finished job may shrink an autoscaled cluster
registerJobLifecycle(
  async (context) => jobRunDeps(df.getClient(context)),
  async () => (await appServices()).base,
  async (jobId, clusterId, context) =>
    signalClusterDemand(df.getClient(context), (await appServices()).base, jobId, clusterId),
);
registerClusterScheduler(async (context) => jobRunDeps(df.getClient(context))); // one scheduler per cluster
// one orchestration per cluster / file server
registerComputeLifecycle(async (context) => computeDeps(df.getClient(context)));
registerReconciler(); // resources left `creating` with no lifecycle are driven on, at start and every 30 s
