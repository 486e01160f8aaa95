// HTTP trigger route templates (ASP.NET Core syntax, as the Functions host reads them):
// literals, `{name}`, optional `{name?}`, defaults `{name=value}`, constraints `{id:int}`,
// `{id:int:min(1)}`, `{name:regex(^a.*$)}`, catch-all `{*rest}`, several parameters in one segment
// (`{file}.{ext}`). Literal segments match case-insensitively.

export interface CompiledRoute {
  template: string;
  /** Parameters of a matching path (URL-decoded), or undefined when the path does not match. */
  match(path: string): Record<string, string> | undefined;
  /** Higher is more specific; used to order routes like ASP.NET's route precedence. */
  precedence: number;
}

interface Param {
  name: string;
  optional: boolean;
  catchAll: boolean;
  defaultValue?: string;
  constraints: string[];
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Splits `id:int:regex(a:b)` into name and constraints, respecting parentheses. */
function splitParam(body: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of body) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ':' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function parseParam(raw: string, template: string): Param {
  let body = raw;
  let catchAll = false;
  if (body.startsWith('**')) {
    catchAll = true;
    body = body.slice(2);
  } else if (body.startsWith('*')) {
    catchAll = true;
    body = body.slice(1);
  }
  let defaultValue: string | undefined;
  const eq = body.indexOf('=');
  if (eq >= 0 && !body.slice(0, eq).includes('(')) {
    defaultValue = body.slice(eq + 1);
    body = body.slice(0, eq);
  }
  let optional = false;
  if (body.endsWith('?')) {
    optional = true;
    body = body.slice(0, -1);
  }
  const [name, ...constraints] = splitParam(body);
  if (!name || !/^[A-Za-z_][\w]*$/.test(name)) {
    throw new Error(`Invalid parameter "{${raw}}" in route template "${template}"`);
  }
  for (const c of constraints) constraintCheck(c, template);
  return { name, optional: optional || catchAll || defaultValue !== undefined, catchAll, defaultValue, constraints };
}

function constraintArgs(c: string): string[] {
  const m = /^\w+\((.*)\)$/s.exec(c);
  return m ? (m[1] ?? '').split(',').map((s) => s.trim()) : [];
}

/** Returns the predicate for a constraint; throws for an unknown one at start. */
function constraintCheck(c: string, template: string): (v: string) => boolean {
  const kind = (/^\w+/.exec(c)?.[0] ?? '').toLowerCase();
  const args = constraintArgs(c);
  const n = args.map(Number);
  switch (kind) {
    case 'int':
    case 'long':
      return (v) => /^-?\d+$/.test(v);
    case 'bool':
      return (v) => /^(true|false)$/i.test(v);
    case 'alpha':
      return (v) => /^[a-z]+$/i.test(v);
    case 'guid':
      return (v) => /^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i.test(v);
    case 'double':
    case 'float':
    case 'decimal':
      return (v) => v.trim() !== '' && Number.isFinite(Number(v));
    case 'datetime':
      return (v) => !Number.isNaN(Date.parse(v));
    case 'minlength':
      return (v) => v.length >= (n[0] ?? 0);
    case 'maxlength':
      return (v) => v.length <= (n[0] ?? Number.POSITIVE_INFINITY);
    case 'length':
      return n.length === 2 ? (v) => v.length >= n[0]! && v.length <= n[1]! : (v) => v.length === n[0];
    case 'min':
      return (v) => Number(v) >= (n[0] ?? 0);
    case 'max':
      return (v) => Number(v) <= (n[0] ?? 0);
    case 'range':
      return (v) => Number(v) >= (n[0] ?? 0) && Number(v) <= (n[1] ?? 0);
    case 'regex': {
      const pattern = /^regex\((.*)\)$/is.exec(c)?.[1] ?? '';
      const re = new RegExp(pattern, 'i');
      return (v) => re.test(v);
    }
    default:
      throw new Error(`Unknown route constraint "${c}" in route template "${template}"`);
  }
}

export function compileRoute(template: string): CompiledRoute {
  const clean = template.replace(/^\/+|\/+$/g, '');
  const segments = clean === '' ? [] : clean.split('/');
  const params: Param[] = [];
  let regex = '^';
  let precedence = 0;
  segments.forEach((segment, index) => {
    const parts = segment.split(/(\{[^{}]*\})/).filter((p) => p !== '');
    let segRe = '';
    let segOptional = false;
    for (const part of parts) {
      if (part.startsWith('{') && part.endsWith('}')) {
        const p = parseParam(part.slice(1, -1), template);
        if (p.catchAll && index !== segments.length - 1) {
          throw new Error(`A catch-all parameter must be the last segment of route template "${template}"`);
        }
        params.push(p);
        segRe += p.catchAll ? '(.*)' : '([^/]+?)';
        if (p.optional && parts.length === 1) segOptional = true;
        precedence += p.catchAll ? 0 : p.constraints.length > 0 ? 2 : 1;
      } else {
        segRe += escapeRegex(part);
        precedence += 4;
      }
    }
    regex += segOptional ? `(?:/${segRe})?` : `/${segRe}`;
  });
  regex += '/?$';
  const re = new RegExp(regex, 'i');
  const checks = params.map((p) => p.constraints.map((c) => constraintCheck(c, template)));

  return {
    template,
    precedence: precedence * 100 + segments.length,
    match(path: string) {
      const normalized = `/${path.replace(/^\/+/, '')}`.replace(/\/$/, '') || '/';
      const m = re.exec(normalized === '/' ? '' : normalized);
      if (!m) return undefined;
      const values: Record<string, string> = {};
      for (let i = 0; i < params.length; i++) {
        const p = params[i]!;
        const raw = m[i + 1];
        if (raw === undefined || raw === '') {
          if (!p.optional) return undefined;
          if (p.defaultValue !== undefined) values[p.name] = p.defaultValue;
          continue;
        }
        let value: string;
        try {
          value = p.catchAll ? raw.split('/').map(decodeURIComponent).join('/') : decodeURIComponent(raw);
        } catch {
          return undefined;
        }
        if (!checks[i]!.every((check) => check(value))) return undefined;
        values[p.name] = value;
      }
      return values;
    },
  };
}
