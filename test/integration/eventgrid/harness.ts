// Test harness for the Event Grid emulator: Azurite, the emulator as a real child process (the way the
// stack supervisor runs it), and a webhook receiver that records what Event Grid would push to an app.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfigInput } from '../../../local/eventgrid/config.js';
import { freePort } from '../../../local/stack/ports.js';
import { startTestStack } from '../../support/stack.js';
import { waitFor } from '../../support/wait-for.js';

export { freePort, waitFor };

const emulatorMain = fileURLToPath(new URL('../../../local/eventgrid/main.js', import.meta.url));

export const TOPIC_KEY = Buffer.from('local-topic-key-for-tests').toString('base64');

const tempDirs: string[] = [];

export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `eg-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

/** Deletes every directory tempDir() made in this test file (call after the emulators stopped). */
export async function removeTempDirs(): Promise<void> {
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

export interface Azurite {
  connectionString: string;
  /** Azurite's --location directory. */
  location: string;
  stop: () => Promise<void>;
}

/** Azurite from the shared test stack (its own data dir and free ports); dispose() deletes its data. */
export async function startAzurite(): Promise<Azurite> {
  const stack = await startTestStack({ services: ['azurite'] });
  return {
    connectionString: stack.descriptor.storage.connectionString,
    location: join(stack.dataDir, 'azurite'),
    stop: () => stack.dispose(),
  };
}

export interface EmulatorProcess {
  port: number;
  topicEndpoint: string;
  /** Parsed pino lines written so far. */
  logs: Record<string, unknown>[];
  /** Sends SIGTERM and resolves with the exit code and how long the exit took. */
  stop: () => Promise<{ code: number | null; ms: number }>;
}

export async function writeConfig(dir: string, config: ConfigInput): Promise<string> {
  const path = join(dir, 'subscriptions.json');
  await writeFile(path, JSON.stringify(config, null, 2));
  return path;
}

export async function startEmulator(o: {
  dataDir: string;
  configPath: string;
  connectionString: string;
  port?: number;
  azuriteLocation?: string;
}): Promise<EmulatorProcess> {
  const port = o.port ?? (await freePort());
  const child: ChildProcess = spawn(
    process.execPath,
    [
      emulatorMain,
      '--port',
      String(port),
      '--data-dir',
      o.dataDir,
      '--config',
      o.configPath,
      ...(o.azuriteLocation ? ['--azurite-location', o.azuriteLocation] : []),
    ],
    {
      env: { ...process.env, AzureWebJobsStorage: o.connectionString, EVENTGRID_TOPIC_KEY: TOPIC_KEY },
      // The IPC channel is the stack's lifeline: the emulator exits if this test process dies.
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    },
  );
  const logs: Record<string, unknown>[] = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let nl = buffered.indexOf('\n');
    while (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
      nl = buffered.indexOf('\n');
    }
  });
  const exited = once(child, 'exit') as Promise<[number | null]>;
  try {
    await waitFor(
      'emulator /health',
      async () => {
        if (child.exitCode !== null) throw new Error(`emulator exited with ${child.exitCode}`);
        try {
          return (await fetch(`http://127.0.0.1:${port}/health`)).status === 200 ? true : undefined;
        } catch {
          return undefined;
        }
      },
      60_000,
    );
  } catch (err) {
    // Its IPC channel would keep this test process alive until the runner's timeout.
    child.kill('SIGKILL');
    throw err;
  }
  return {
    port,
    topicEndpoint: `http://127.0.0.1:${port}/api/events`,
    logs,
    stop: async () => {
      const t = Date.now();
      if (child.exitCode === null) child.kill('SIGTERM');
      const [code] = await exited;
      return { code, ms: Date.now() - t };
    },
  };
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

/**
 * A webhook endpoint per path (`/hooks/<name>`). It answers the validation handshake like the Functions
 * host does, and notifications with scripted statuses (then 200).
 */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly scripted = new Map<string, number[]>();
  private readonly refuseValidation = new Set<string>();
  private readonly manualValidation = new Set<string>();
  private server: Server | undefined;
  port = 0;

  async start(port = 0): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = (req.url ?? '/').split('?')[0] ?? '/';
        const body = Buffer.concat(chunks).toString('utf8');
        this.requests.push({ method: req.method ?? '', path, headers: req.headers, body, at: performance.now() });
        if (req.method === 'OPTIONS') {
          if (this.refuseValidation.has(path)) return void res.writeHead(403).end();
          res.writeHead(200, { 'WebHook-Allowed-Origin': String(req.headers['webhook-request-origin']) }).end();
          return;
        }
        if (req.headers['aeg-event-type'] === 'SubscriptionValidation') {
          if (this.refuseValidation.has(path)) return void res.writeHead(403).end();
          const [event] = JSON.parse(body) as { data: { validationCode: string; validationUrl: string } }[];
          if (this.manualValidation.has(path) && event) {
            // The "manual" handshake: acknowledge without the code, then GET the validationUrl.
            res.writeHead(200).end();
            void fetch(event.data.validationUrl).then((r) => r.arrayBuffer());
            return;
          }
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ validationResponse: event?.data.validationCode }));
          return;
        }
        const status = this.scripted.get(path)?.shift() ?? 200;
        res.writeHead(status).end();
      });
    });
    this.server.listen(port, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(name: string, query = ''): string {
    return `http://127.0.0.1:${this.port}/hooks/${name}${query}`;
  }

  /** The next notifications to /hooks/<name> get these statuses, in order. */
  script(name: string, statuses: number[]): void {
    this.scripted.set(`/hooks/${name}`, [...statuses]);
  }

  setRefuseValidation(name: string, refuse: boolean): void {
    if (refuse) this.refuseValidation.add(`/hooks/${name}`);
    else this.refuseValidation.delete(`/hooks/${name}`);
  }

  /** Validate /hooks/<name> by GETting the validationUrl instead of echoing the code. */
  setManualValidation(name: string): void {
    this.manualValidation.add(`/hooks/${name}`);
  }

  to(name: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.path === `/hooks/${name}`);
  }

  notifications(name: string): ReceivedRequest[] {
    return this.to(name).filter((r) => r.headers['aeg-event-type'] === 'Notification');
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}

/** The single event of an Event Grid-schema delivery. */
export function eventOf(r: ReceivedRequest): Record<string, unknown> & { data: Record<string, unknown> } {
  const parsed = JSON.parse(r.body) as unknown;
  const event = Array.isArray(parsed) ? parsed[0] : parsed;
  return event as Record<string, unknown> & { data: Record<string, unknown> };
}

/**
 * Waits until the emulator holds no pending delivery for these subscriptions: every event fanned out to them has been
 * delivered or dead-lettered, so no further request can reach the webhook. The signal a "nothing more arrives"
 * assertion waits for, instead of a fixed sleep.
 */
export async function drained(port: number, ...subscriptions: string[]): Promise<void> {
  await waitFor(`no pending deliveries for ${subscriptions.join(', ')}`, async () => {
    const subs = (await (await fetch(`http://127.0.0.1:${port}/api/subscriptions`)).json()) as {
      name: string;
      pendingDeliveries: number;
    }[];
    return subscriptions.every((name) => subs.find((s) => s.name === name)?.pendingDeliveries === 0);
  });
}
