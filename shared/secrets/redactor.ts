// Redacts secrets from text on its way to a log line: every value the app has sealed or opened (it knows them as
// secrets: job secrets, account keys, passwords), and what looks like a credential whatever its source (storage
// keys and SAS signatures, bearer tokens, function keys in URLs, sealed values). Logs are kept longer and read by
// more people than any store, so a secret that reaches one is as good as published.

/** Values shorter than this are not tracked: redacting "1" or "ab" everywhere would garble logs and hide nothing. */
const MIN_SECRET_LENGTH = 4;
/** The most recent values are kept; a long-running instance forgets the oldest. */
const MAX_TRACKED = 10_000;

const PATTERNS: Array<[RegExp, string]> = [
  [/sealed:v\d:[A-Za-z0-9_:-]+/g, 'sealed:***'],
  [/\b(AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd)=([^;\s"']+)/gi, '$1=***'],
  [/([?&](?:sig|code|key|token|access_token)=)[^&\s"']+/gi, '$1***'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, '$1 ***'],
  [/\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g, '***jwt***'],
  [
    /("(?:password|accountKey|adminUserPassword|instrumentationKey|value|secret|token)"\s*:\s*")((?:[^"\\]|\\.)*)"/gi,
    '$1***"',
  ],
];

export class SecretRedactor {
  private readonly known = new Set<string>();

  /** Remembers a secret value so that it is redacted from every later log line. */
  remember(value: string): void {
    if (value.length < MIN_SECRET_LENGTH || this.known.has(value)) return;
    this.known.add(value);
    if (this.known.size > MAX_TRACKED) this.known.delete(this.known.values().next().value!);
  }

  redact(text: string): string {
    let out = text;
    for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
    for (const secret of this.known) if (out.includes(secret)) out = out.split(secret).join('***');
    return out;
  }

  /** A log argument redacted: strings as text, errors by message and stack, anything else through its JSON. */
  redactValue(value: unknown): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (value instanceof Error) {
      const copy = new Error(this.redact(value.message));
      copy.name = value.name;
      copy.stack = value.stack === undefined ? undefined : this.redact(value.stack);
      return copy;
    }
    if (value === null || typeof value !== 'object') return value;
    try {
      return JSON.parse(this.redact(JSON.stringify(value)));
    } catch {
      return '[unloggable value]';
    }
  }
}

/** The app's one redactor: SecretBox tells it every value it seals or opens. */
export const secretRedactor = new SecretRedactor();
