import { readFile } from 'node:fs/promises';
import type { AgentBootConfig } from '../shared/domain/agent-bootstrap.js';

/**
 * Reads the boot configuration cloud-init wrote (agentBootConfigSchema in shared/domain/agent-bootstrap.ts). Checked
 * by hand rather than with the zod schema, which the agent does not load; a unit test holds the two to the same
 * verdicts.
 */
export async function readBootConfig(path: string): Promise<AgentBootConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the agent configuration ${path}: ${(err as Error).message}`);
  }
  const problem = checkBootConfig(raw);
  if (problem) throw new Error(`agent configuration ${path}: ${problem}`);
  return raw as AgentBootConfig;
}

const KEYS = new Set([
  'v',
  'role',
  'resourceId',
  'scaleSetName',
  'queueEndpoint',
  'blobEndpoint',
  'identityClientId',
  'heartbeatIntervalMs',
  'mountRoot',
  'fileServer',
]);

/** What is wrong with a boot configuration, or undefined when nothing is. */
export function checkBootConfig(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not an object';
  const c = raw as Record<string, unknown>;
  const unknown = Object.keys(c).find((k) => !KEYS.has(k));
  if (unknown) return `unknown key ${unknown}`;
  if (c.v !== 1) return 'v must be 1';
  if (c.role !== 'clusterNode' && c.role !== 'fileServer') return 'role must be clusterNode or fileServer';
  for (const k of ['resourceId', 'scaleSetName', 'queueEndpoint', 'blobEndpoint', 'mountRoot']) {
    if (typeof c[k] !== 'string') return `${k} must be a string`;
  }
  if (c.identityClientId !== undefined && typeof c.identityClientId !== 'string')
    return 'identityClientId must be a string';
  const hb = c.heartbeatIntervalMs;
  if (typeof hb !== 'number' || !Number.isInteger(hb) || hb <= 0)
    return 'heartbeatIntervalMs must be a positive integer';
  if (c.fileServer !== undefined) {
    const fs = c.fileServer as Record<string, unknown>;
    if (typeof fs !== 'object' || fs === null || Array.isArray(fs)) return 'fileServer must be an object';
    if (Object.keys(fs).some((k) => k !== 'diskCount' && k !== 'exportPath')) return 'fileServer has an unknown key';
    if (typeof fs.diskCount !== 'number' || !Number.isInteger(fs.diskCount) || fs.diskCount <= 0)
      return 'fileServer.diskCount must be a positive integer';
    if (typeof fs.exportPath !== 'string') return 'fileServer.exportPath must be a string';
  }
  return undefined;
}
