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

export function jsonString(value: string, path: string): string {
  if (!(value as WellFormedString).isWellFormed()) throw new NotJsonError(path, 'contains a lone UTF-16 surrogate');
  if (value.includes('\u0000')) throw new NotJsonError(path, 'contains U+0000 (NUL), which PostgreSQL cannot store');
  return JSON.stringify(value);
}

function write(value: unknown, path: string, ancestors: object[]): string {
  switch (typeof value) {
    case 'string':
      return jsonString(value, path);
    case 'number':
      if (!Number.isFinite(value)) throw new NotJsonError(path, `is ${value}, which JSON cannot represent`);
      // ECMAScript number-to-string is the JCS number format (and turns -0 into 0).
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (ancestors.includes(value)) throw new NotJsonError(path, 'is a cycle back to an enclosing value');
      if (ancestors.length >= MAX_JSON_DEPTH) throw new NotJsonError(path, `nests deeper than ${MAX_JSON_DEPTH} levels`);
      if (Object.getOwnPropertySymbols(value).length > 0) throw new NotJsonError(path, 'has symbol keys');
      ancestors.push(value);
      try {
        return Array.isArray(value) ? writeArray(value, path, ancestors) : writeObject(value, path, ancestors);
      } finally {
        ancestors.pop();
      }
    }
    default:
      throw new NotJsonError(path, `is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}, not JSON`);
  }
}

function writeArray(value: unknown[], path: string, ancestors: object[]): string {
  if (Object.getPrototypeOf(value) !== Array.prototype) throw new NotJsonError(path, 'is not a plain array');
  const parts = new Array<string>(value.length);
  for (let index = 0; index < value.length; index++) {
    if (!(index in value)) throw new NotJsonError(`${path}[${index}]`, 'is a hole in a sparse array');
    parts[index] = write(value[index], `${path}[${index}]`, ancestors);
  }
  return `[${parts.join(',')}]`;
}

function writeObject(value: object, path: string, ancestors: object[]): string {
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    const kind = (value as { constructor?: { name?: unknown } }).constructor?.name;
    throw new NotJsonError(path, `is a ${typeof kind === 'string' ? kind : 'non-plain object'}, not a plain JSON object`);
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  const parts = new Array<string>(keys.length);
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index] as string;
    const keyPath = `${path}.${key}`;
    parts[index] = `${jsonString(key, keyPath)}:${write(record[key], keyPath, ancestors)}`;
  }
  return `{${parts.join(',')}}`;
}

/** Canonical JSON text of `value`; throws NotJsonError naming the first offending path under `path`. */
export function canonicalJson(value: unknown, path = '$'): string {
  return write(value, path, []);
}

/** True for `{}`-style objects (prototype Object.prototype or null), the only shape event data may take. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
