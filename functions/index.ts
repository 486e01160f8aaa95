import { app } from '@azure/functions';
import { registerJobLifecycle } from '../orchestrations/job-lifecycle.js';
import { registerManifestSubmissions } from './blob/submit-job-manifest.js';
import { appServices } from './dependencies.js';
import { registerApiRoutes } from './http/register-api.js';
import { registerLogRedaction } from './log-redaction.js';
import { registerPoisonSealing } from './queue/seal-poison-messages.js';
import { registerQueueSubmissions } from './queue/submit-job-from-queue.js';
import { registerReconciler } from './timers/reconcile-resources.js';

// Every entry point of the app, in one list. Triggers translate and hand off; rules live in shared/.
app.setup({ enableHttpStream: false });
registerLogRedaction(); // secrets never reach a log line, whichever function writes it

registerApiRoutes(); // the Batch AI REST API (one function per operation) and its OpenAPI document
registerQueueSubmissions(); // job-submissions queue
registerPoisonSealing(); // what the host moved to job-submissions-poison raw, sealed
registerManifestSubmissions(); // manifests/{workspace}/{experiment}/{job}.json via Event Grid
registerJobLifecycle(async () => (await appServices()).base); // one orchestration per job
registerReconciler(); // resources left `creating` with no lifecycle are driven on, at start and every 30 s
