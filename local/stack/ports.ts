import { createServer } from 'node:net';

// Every service's port, in one place. A base port moves the whole stack so several stacks can run
// side by side; a single service's port can still be overridden.
export const SERVICE_PORT_OFFSETS = {
  blob: 0,
  queue: 1,
  table: 2,
  cosmos: 3,
  functions: 4,
  compute: 5,
  eventgrid: 6,
  issuer: 7,
} as const;

export type PortName = keyof typeof SERVICE_PORT_OFFSETS;
export type PortPlan = Record<PortName, number>;

// Without a base port the stack uses the ports people already know: Azurite's 10000-10002,
// the Cosmos emulator's 8081 and the Functions host's 7071.
export const DEFAULT_PORTS: PortPlan = {
  blob: 10000,
  queue: 10001,
  table: 10002,
  cosmos: 8081,
  functions: 7071,
  compute: 10005,
  eventgrid: 10006,
  issuer: 10007,
};

export function planPorts(basePort?: number, overrides: Partial<PortPlan> = {}): PortPlan {
  const plan = { ...DEFAULT_PORTS };
  if (basePort !== undefined) {
    for (const [name, offset] of Object.entries(SERVICE_PORT_OFFSETS)) plan[name as PortName] = basePort + offset;
  }
  for (const [name, port] of Object.entries(overrides)) if (port !== undefined) plan[name as PortName] = port;
  for (const [name, port] of Object.entries(plan)) {
    if (!Number.isInteger(port) || port < 1 || port > 65535)
      throw new Error(`port for ${name} must be 1-65535, got ${port}`);
  }
  const seen = new Map<number, string>();
  for (const [name, port] of Object.entries(plan)) {
    const other = seen.get(port);
    if (other) throw new Error(`port ${port} is planned for both ${other} and ${name}`);
    seen.set(port, name);
  }
  return plan;
}

export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly service: string,
    readonly option: string,
  ) {
    super(`port ${port} (${service}) is already in use on 127.0.0.1; free it, or choose another with ${option}`);
    this.name = 'PortInUseError';
  }
}

export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the OS says is free right now (for tests that run their own stack). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Free ports for a whole stack. Candidates are drawn at random from a range the OS does not hand out as
 * ephemeral ports, so stacks started at the same moment by parallel test files rarely pick the same ones
 * (ports from `listen(0)` are handed out in sequence and are soon reused); a clash that still happens shows up
 * as PortInUseError or EADDRINUSE and the caller retries with a new plan.
 */
export async function freePortPlan(): Promise<PortPlan> {
  const plan = {} as PortPlan;
  const taken = new Set<number>();
  for (const name of Object.keys(SERVICE_PORT_OFFSETS) as PortName[]) {
    for (;;) {
      const port = 20_000 + Math.floor(Math.random() * 12_000);
      if (taken.has(port) || !(await isPortFree(port))) continue;
      taken.add(port);
      plan[name] = port;
      break;
    }
  }
  return plan;
}
