// Load generator for bench/durable-hello-sequence.ts, run in a worker thread so the client's own CPU (axios,
// JSON, HTTP parsing) does not compete with the host on the event loop it measures. Uses the official
// durable-functions DurableClient over HTTP, exactly as a client function would.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { DurableClient } from 'durable-functions';

export type ClientCommand =
  | { op: 'startMany'; name: string; ids: string[]; inFlight: number }
  | { op: 'startOne'; name: string; id: string }
  | { op: 'raise'; id: string; event: string; data: unknown };

export type ClientReply =
  | { op: 'sent'; id: string; at: number }
  | { op: 'startedAll' }
  | { op: 'ok'; at: number }
  | { op: 'error'; message: string };

/** Wall-clock milliseconds with sub-ms resolution, comparable across threads. */
export function nowAbs(): number {
  return performance.timeOrigin + performance.now();
}

const require = createRequire(import.meta.url);
const { DurableClient: Ctor } = require('durable-functions/lib/src/durableClient/DurableClient.js') as {
  DurableClient: new (data: unknown) => DurableClient;
};

if (parentPort) {
  const port = parentPort;
  const client = new Ctor((workerData as { clientData: unknown }).clientData);
  const reply = (r: ClientReply) => port.postMessage(r);
  port.on('message', (cmd: ClientCommand) => {
    void (async () => {
      try {
        if (cmd.op === 'startMany') {
          let next = 0;
          const workers = Array.from({ length: Math.min(cmd.inFlight, cmd.ids.length) }, async () => {
            while (next < cmd.ids.length) {
              const id = cmd.ids[next++]!;
              reply({ op: 'sent', id, at: nowAbs() });
              await client.startNew(cmd.name, { instanceId: id });
            }
          });
          await Promise.all(workers);
          reply({ op: 'startedAll' });
        } else if (cmd.op === 'startOne') {
          const at = nowAbs();
          await client.startNew(cmd.name, { instanceId: cmd.id });
          reply({ op: 'ok', at });
        } else {
          const at = nowAbs();
          await client.raiseEvent(cmd.id, cmd.event, cmd.data);
          reply({ op: 'ok', at });
        }
      } catch (err) {
        reply({ op: 'error', message: String(err) });
      }
    })();
  });
}
