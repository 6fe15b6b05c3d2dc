/** One challenge from a `Proxy-Authenticate` header (RFC 9110 §11.6.1). */
export interface Challenge {
  /** Lower-cased scheme: `negotiate`, `basic`, `ntlm`, ... */
  scheme: string;
  /** A token68 after the scheme, e.g. the proxy's Negotiate reply token. */
  token?: string;
  params: Record<string, string>;
}

const PARAM = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(.*)$/s;
const SCHEME = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:\s+(.*))?$/s;

/**
 * Parses one or more `Proxy-Authenticate` values. Challenges and their auth-params are all separated
 * by commas, so each comma-separated item is either `name=value` (a parameter of the challenge before
 * it) or the start of a new challenge: `scheme`, `scheme token68` or `scheme name=value`.
 */
export function parseChallenges(values: string | readonly string[] | undefined): Challenge[] {
  if (values === undefined) return [];
  const out: Challenge[] = [];
  for (const value of typeof values === 'string' ? [values] : values) {
    let current: Challenge | undefined;
    for (const item of splitUnquotedCommas(value)) {
      const param = PARAM.exec(item);
      if (current && param) {
        addParam(current, param);
        continue;
      }
      const m = SCHEME.exec(item);
      if (!m) continue; // malformed item: skip it, keep the rest of the header
      current = { scheme: (m[1] as string).toLowerCase(), params: {} };
      out.push(current);
      const rest = m[2]?.trim();
      if (!rest) continue;
      const first = PARAM.exec(rest);
      // token68 may end in "=" padding; a parameter has a value after its "=".
      if (first && first[2] !== '' && !/^=+$/.test(first[2] as string)) addParam(current, first);
      else current.token = rest;
    }
  }
  return out;
}

function addParam(challenge: Challenge, m: RegExpExecArray): void {
  let value = (m[2] as string).trim();
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
  challenge.params[(m[1] as string).toLowerCase()] = value;
}

function splitUnquotedCommas(value: string): string[] {
  const items: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) {
      items.push(value.slice(start, i));
      start = i + 1;
    }
  }
  items.push(value.slice(start));
  return items.map((s) => s.trim()).filter((s) => s !== '');
}

/** Schemes offered, in the order the proxy listed them. */
export function offeredSchemes(challenges: readonly Challenge[]): string[] {
  return [...new Set(challenges.map((c) => c.scheme))];
}
