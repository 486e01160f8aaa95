import type { AgentCommand } from '../shared/domain/agent-protocol.js';
import { AGENT_PROTOCOL_VERSION, SEALED_FOR_NODE_ALG } from '../shared/domain/agent-wire.js';

// agentCommandSchema (shared/domain/agent-protocol.ts) restated as data for a validator of a few lines, because
// the agent does not load zod (docs/decisions/0020-agent-without-sdks.md). test/unit/agent/validate-command.test.ts
// holds both to the same verdicts, so the contract stays the zod schema.

type Rule =
  | 'string'
  | 'boolean'
  | 'int'
  | { literal: string | number }
  | { object: Record<string, Rule>; optional?: string[] }
  | { array: Rule }
  | { union: 'kind'; of: Record<string, Rule> };

const sealed: Rule = { object: { alg: { literal: SEALED_FOR_NODE_ALG }, epk: 'string', iv: 'string', ct: 'string' } };
const nameValue: Rule = { object: { name: 'string', value: 'string' } };
const secret: Rule = { object: { name: 'string', value: sealed } };
const base = { v: { literal: AGENT_PROTOCOL_VERSION }, bootId: 'string', commandId: 'string' } as const;
const taskRef = { jobId: 'string', attempt: 'int', taskId: 'string' } as const;

const mount: Rule = {
  union: 'kind',
  of: {
    azureBlob: {
      object: {
        relativeMountPath: 'string',
        accountName: 'string',
        containerName: 'string',
        blobEndpoint: 'string',
        accountKey: sealed,
        mountOptions: 'string',
      },
      optional: ['accountKey', 'mountOptions'],
    },
    azureFiles: {
      object: {
        relativeMountPath: 'string',
        accountName: 'string',
        azureFileUrl: 'string',
        accountKey: sealed,
        fileMode: 'string',
        directoryMode: 'string',
      },
      optional: ['accountKey'],
    },
    fileServer: {
      object: {
        relativeMountPath: 'string',
        serverAddress: 'string',
        exportPath: 'string',
        sourceDirectory: 'string',
        mountOptions: 'string',
      },
      optional: ['sourceDirectory', 'mountOptions'],
    },
    unmanaged: { object: { relativeMountPath: 'string', mountCommand: 'string' } },
  },
};

const command: Rule = {
  union: 'kind',
  of: {
    setup: {
      object: {
        ...base,
        setupId: 'string',
        mounts: { array: mount },
        setupTask: {
          object: {
            commandLine: 'string',
            runElevated: 'boolean',
            environmentVariables: { array: nameValue },
            secrets: { array: secret },
            stdOutErrDirectory: 'string',
          },
        },
      },
      optional: ['setupTask'],
    },
    runTask: {
      object: {
        ...base,
        ...taskRef,
        commandLine: 'string',
        workingDirectory: 'string',
        environmentVariables: { array: nameValue },
        secrets: { array: secret },
        stdOutErrDirectory: 'string',
        files: { array: { object: { path: 'string', content: 'string' } } },
        mounts: { array: mount },
        container: {
          object: { image: 'string', serverUrl: 'string', username: 'string', password: sealed, shmSize: 'string' },
          optional: ['serverUrl', 'username', 'password', 'shmSize'],
        },
        after: { array: 'string' },
      },
      optional: ['files', 'container', 'mounts', 'after'],
    },
    startStaged: { object: { ...base, ...taskRef } },
    unstageTask: { object: { ...base, ...taskRef, kill: 'boolean' } },
    killTask: { object: { ...base, ...taskRef } },
  },
};

function check(rule: Rule, value: unknown, path: string): string | undefined {
  if (rule === 'string') return typeof value === 'string' ? undefined : `${path}: expected string`;
  if (rule === 'boolean') return typeof value === 'boolean' ? undefined : `${path}: expected boolean`;
  if (rule === 'int') return Number.isSafeInteger(value) ? undefined : `${path}: expected integer`;
  if ('literal' in rule)
    return value === rule.literal ? undefined : `${path}: expected ${JSON.stringify(rule.literal)}`;
  if ('array' in rule) {
    if (!Array.isArray(value)) return `${path}: expected array`;
    for (const [i, item] of value.entries()) {
      const problem = check(rule.array, item, `${path}.${i}`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${path}: expected object`;
  const obj = value as Record<string, unknown>;
  if ('union' in rule) {
    const kind = obj[rule.union];
    const chosen = typeof kind === 'string' && Object.hasOwn(rule.of, kind) ? rule.of[kind] : undefined;
    if (!chosen) return `${path ? `${path}.` : ''}${rule.union}: unknown ${JSON.stringify(kind)}`;
    const problem = check(chosen, Object.fromEntries(Object.entries(obj).filter(([k]) => k !== rule.union)), path);
    return problem;
  }
  for (const key of Object.keys(obj)) {
    if (!Object.hasOwn(rule.object, key)) return `${path ? `${path}.` : ''}${key}: unrecognized key`;
  }
  for (const [key, sub] of Object.entries(rule.object)) {
    const at = path ? `${path}.${key}` : key;
    if (obj[key] === undefined) {
      if (rule.optional?.includes(key)) continue;
      return `${at}: required`;
    }
    const problem = check(sub, obj[key], at);
    if (problem) return problem;
  }
  return undefined;
}

/** Parses a command's JSON text; never throws. Defaults are applied as the schema does (runTask.files = []). */
export function parseCommand(text: string): { ok: true; value: AgentCommand } | { ok: false; error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  const problem = check(command, raw, '');
  if (problem) return { ok: false, error: problem };
  const value = raw as AgentCommand;
  if (value.kind === 'runTask' && value.files === undefined) value.files = [];
  return { ok: true, value };
}
