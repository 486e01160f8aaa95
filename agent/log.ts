// The agent's log: one JSON object per line on stderr (the VM's console; the emulator keeps it per VM). Callers
// pass ids, paths and codes, never a secret value, a command line's environment or a queue message body.

type Fields = Record<string, string | number | boolean | null | undefined>;

function write(level: 'info' | 'warn' | 'error', msg: string, fields?: Fields): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
}

export const log = {
  info: (msg: string, fields?: Fields) => write('info', msg, fields),
  warn: (msg: string, fields?: Fields) => write('warn', msg, fields),
  error: (msg: string, fields?: Fields) => write('error', msg, fields),
};

export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
