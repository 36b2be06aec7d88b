// RFC 8785 (JCS) canonical JSON, written in the same pass that checks the value is strictly JSON: plain objects and
// arrays, finite numbers, well-formed strings without NUL (PostgreSQL's jsonb cannot hold U+0000). Anything that
// JSON.stringify would silently drop or coerce (undefined, functions, Date, Map, NaN) is refused instead, so what
// is hashed is exactly what is stored. Key order is by UTF-16 code units, which is what Array.prototype.sort does.

export class NotJsonError extends Error {
  override name = 'NotJsonError';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path} ${reason}`);
  }
}

/** Deep enough for any real payload, shallow enough to never overflow the stack. */
export const MAX_JSON_DEPTH = 100;

type WellFormedString = string & { isWellFormed(): boolean };

/** Strings that JSON writes as they are (no quote, backslash, control character or surrogate): the common case. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const VERBATIM = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;

/** Why `value` cannot be stored, given its JSON text; undefined when it can. */
function stringProblem(value: string, text: string): string | undefined {
  // JSON.stringify writes both U+0000 and lone surrogates as \u escapes, so only then is a closer look needed.
  if (!text.includes('\\u')) return undefined;
  if (!(value as WellFormedString).isWellFormed()) return 'contains a lone UTF-16 surrogate';
  if (value.includes('\u0000')) return 'contains U+0000 (NUL), which PostgreSQL cannot store';
  return undefined;
}

/** JSON text of a string; refuses lone surrogates and NUL. */
export function jsonString(value: string, path: string): string {
  if (VERBATIM.test(value)) return `"${value}"`;
  const text = JSON.stringify(value);
  const problem = stringProblem(value, text);
  if (problem !== undefined) throw new NotJsonError(path, problem);
  return text;
}

/**
 * `"key":` text of object keys already seen (and found storable): events of one type repeat the same keys, so most
 * keys are quoted once per process. Bounded, so that data with ever-new keys cannot grow it without limit.
 */
const memberPrefixes = new Map<string, string>();
const MAX_MEMBER_PREFIXES = 10_000;

// The hot path builds no path strings: `trail` holds the keys and indexes down to the current value, and the path
// is spelled out only when something is refused.
function pathOf(base: string, trail: readonly (string | number)[]): string {
  return trail.reduce<string>((path, step) => (typeof step === 'number' ? `${path}[${step}]` : `${path}.${step}`), base);
}

class Writer {
  private readonly ancestors: object[] = [];
  private readonly trail: (string | number)[] = [];

  constructor(private readonly base: string) {}

  private refuse(reason: string): never {
    throw new NotJsonError(pathOf(this.base, this.trail), reason);
  }

  value(value: unknown): string {
    switch (typeof value) {
      case 'string':
        return this.string(value);
      case 'number':
        if (!Number.isFinite(value)) this.refuse(`is ${value}, which JSON cannot represent`);
        // ECMAScript number-to-string is the JCS number format (and turns -0 into 0).
        return String(value);
      case 'boolean':
        return value ? 'true' : 'false';
      case 'object':
        if (value === null) return 'null';
        if (this.ancestors.includes(value)) this.refuse('is a cycle back to an enclosing value');
        if (this.ancestors.length >= MAX_JSON_DEPTH) this.refuse(`nests deeper than ${MAX_JSON_DEPTH} levels`);
        this.ancestors.push(value);
        try {
          return Array.isArray(value) ? this.array(value) : this.object(value);
        } finally {
          this.ancestors.pop();
        }
      default:
        return this.refuse(`is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}, not JSON`);
    }
  }

  private string(value: string): string {
    if (VERBATIM.test(value)) return `"${value}"`;
    const text = JSON.stringify(value);
    const problem = stringProblem(value, text);
    if (problem !== undefined) this.refuse(problem);
    return text;
  }

  private array(value: unknown[]): string {
    if (Object.getPrototypeOf(value) !== Array.prototype) this.refuse('is not a plain array');
    let text = '[';
    for (let index = 0; index < value.length; index++) {
      this.trail.push(index);
      if (!(index in value)) this.refuse('is a hole in a sparse array');
      text += index === 0 ? this.value(value[index]) : `,${this.value(value[index])}`;
      this.trail.pop();
    }
    return `${text}]`;
  }

  private object(value: object): string {
    const prototype: unknown = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      const kind = (value as { constructor?: { name?: unknown } }).constructor?.name;
      this.refuse(`is a ${typeof kind === 'string' ? kind : 'non-plain object'}, not a plain JSON object`);
    }
    // Symbol-keyed properties are invisible to JSON (and to the hash), as they are to JSON.stringify.
    return `{${this.members(value as Record<string, unknown>, Object.keys(value).sort())}}`;
  }

  /** The canonical `"key":value` members of `record` for `keys` (sorted), comma-separated. */
  members(record: Record<string, unknown>, keys: readonly string[]): string {
    let text = '';
    for (let index = 0; index < keys.length; index++) {
      const key = keys[index] as string;
      this.trail.push(key);
      let prefix = memberPrefixes.get(key);
      if (prefix === undefined) {
        prefix = `${this.string(key)}:`;
        if (memberPrefixes.size < MAX_MEMBER_PREFIXES) memberPrefixes.set(key, prefix);
      }
      const member = prefix + this.value(record[key]);
      text += index === 0 ? member : `,${member}`;
      this.trail.pop();
    }
    return text;
  }
}

/** Canonical JSON text of `value`; throws NotJsonError naming the first offending path under `path`. */
export function canonicalJson(value: unknown, path = '$'): string {
  return new Writer(path).value(value);
}

/**
 * The canonical members of a plain object, keeping only the keys `keep` accepts, split around where `pivot` sorts:
 * the text between the braces before and after a member named `pivot` would go.
 */
export function canonicalMembersAround(
  record: Record<string, unknown>,
  pivot: string,
  keep: (key: string, value: unknown) => boolean,
  path: string,
): { before: string; after: string } {
  const keys = Object.keys(record)
    .filter((key) => keep(key, record[key]))
    .sort();
  const split = keys.findIndex((key) => key >= pivot);
  const writer = new Writer(path);
  return split < 0
    ? { before: writer.members(record, keys), after: '' }
    : { before: writer.members(record, keys.slice(0, split)), after: writer.members(record, keys.slice(split)) };
}

/** True for `{}`-style objects (prototype Object.prototype or null), the only shape event data may take. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
