import type { InvocationContext } from '@azure/functions';
import type { DurableClient } from 'durable-functions';
import * as df from 'durable-functions';
import { submitJob } from '../../shared/api/submit-job.js';
import { describeJsonSyntaxError } from '../../shared/domain/json-text.js';
import { formatBatchAiResourceId, parseBatchAiResourceIdOf } from '../../shared/domain/resource-id.js';
import { apiDeps, appServices } from '../dependencies.js';
import { authorizeSubmission } from '../http/authorize.js';
import { invalid, isPermanent, poisonEntry, report } from '../submission-errors.js';

// `job-submissions` messages: `{ "id": "<job resource id>", "properties": { ...the PUT body's properties } }`.
// They take the same submit path as PUT. A message that can never succeed (bad JSON, bad id, invalid job) goes
// straight to `job-submissions-poison` with the reason; a transient failure is retried by the host, and after
// the last try the message goes to the poison queue with the reason too. The handler does that poison move
// itself, so what lands there is sealed: whatever the failure, the message is kept only sealed as a whole (a
// message that failed validation may hold a secret anywhere). What the host moves there itself (a message the
// worker could not even hand to us) is sealed by seal-poison-messages.ts.

export const SUBMISSIONS_QUEUE = 'job-submissions';
export const POISON_QUEUE = `${SUBMISSIONS_QUEUE}-poison`;
/** host.json extensions.queues.maxDequeueCount (a unit test keeps the two equal). */
export const MAX_DEQUEUE_COUNT = 5;

function parseMessage(message: unknown): { id: string; body: unknown } {
  let value = message;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch (err) {
      throw invalid(`the message is not JSON: ${describeJsonSyntaxError(err)}`);
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid('the message must be a JSON object { "id": "<job resource id>", "properties": { ... } }');
  }
  const { id, ...body } = value as Record<string, unknown>;
  if (typeof id !== 'string') throw invalid("'id' must be the job's resource id", 'id');
  return { id, body };
}

/** The message as it was sent: the worker hands us parsed JSON when the text was JSON. */
function messageText(message: unknown, context: InvocationContext): string {
  const raw = context.triggerMetadata?.['queueTrigger'];
  if (typeof raw === 'string') return raw;
  if (typeof message === 'string') return message;
  try {
    return JSON.stringify(message) ?? String(message);
  } catch {
    return String(message);
  }
}

export async function submitJobFromQueue(
  message: unknown,
  client: DurableClient,
  context: InvocationContext,
): Promise<void> {
  const dequeueCount = Number(context.triggerMetadata?.dequeueCount ?? 1);
  try {
    const { id, body } = parseMessage(message);
    const jobId = parseBatchAiResourceIdOf('job', id);
    if (!jobId.ok) throw invalid(`'id' is not a job resource id: ${jobId.reason}`, 'id');
    // Authorized as a PUT of the job by the configured submission principal; a 403 is a permanent rejection.
    const submitter = await authorizeSubmission(formatBatchAiResourceId(jobId.value), (await appServices()).auth);
    const outcome = await submitJob(await apiDeps(client), jobId.value, body, { createdBy: submitter.id });
    context.log(`job ${id} ${outcome.outcome} from the ${SUBMISSIONS_QUEUE} queue`);
  } catch (err) {
    if (!isPermanent(err) && dequeueCount < MAX_DEQUEUE_COUNT) throw err; // the host retries it
    const { queues, base } = await appServices();
    const poison = queues.getQueueClient(POISON_QUEUE);
    await poison.createIfNotExists();
    const entry = poisonEntry(base.secrets, messageText(message, context), {
      ...report('queue', SUBMISSIONS_QUEUE, err, new Date()),
      dequeueCount,
    });
    await poison.sendMessage(Buffer.from(JSON.stringify(entry)).toString('base64'));
    context.warn(`job submission moved to ${POISON_QUEUE}: ${entry.error.code} (target: ${entry.error.target ?? '-'})`);
  }
}

export function registerQueueSubmissions(): void {
  df.app.client.storageQueue('SubmitJobFromQueue', {
    queueName: SUBMISSIONS_QUEUE,
    connection: 'AzureWebJobsStorage',
    handler: submitJobFromQueue,
  });
}
