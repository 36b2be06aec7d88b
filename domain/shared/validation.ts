// Input checks shared by deciders; each throws a ValidationError naming the field and the accepted range.
import { ValidationError } from './errors.ts';

/** Free text must contain something other than whitespace; it is kept verbatim (notes may be indented). */
export function requireText(field: string, value: string, maxLength: number): string {
  if (value.trim().length === 0) throw new ValidationError(field, `must not be blank (1–${maxLength} characters)`);
  if (value.length > maxLength) {
    throw new ValidationError(field, `is ${value.length} characters; at most ${maxLength} allowed`);
  }
  return value;
}

/** Names and ids are trimmed, so "api " and "api" are the same service. */
export function requireName(field: string, value: string, maxLength: number): string {
  return requireText(field, value.trim(), maxLength);
}

/** Optional text: absent, null and blank all mean "not given" (an empty form field is not an error). */
export function optionalText(field: string, value: string | null | undefined, maxLength: number): string | null {
  return value === undefined || value === null || value.trim() === '' ? null : requireText(field, value, maxLength);
}

export function requireOneOf<T extends string>(field: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find((candidate) => candidate === value);
  if (found === undefined) {
    throw new ValidationError(field, `${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
  }
  return found;
}

/** An ISO-8601 instant as produced by Date#toISOString, so stored timestamps sort and compare as strings. */
export function requireInstant(field: string, value: string): string {
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime()) || parsed.toISOString() !== value) {
    const example = '2024-01-31T12:00:00.000Z';
    throw new ValidationError(field, `${JSON.stringify(value)} is not an ISO-8601 instant like ${example}`);
  }
  return value;
}
