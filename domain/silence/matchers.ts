// Alertmanager's matchers: `name op value` with `=`, `!=`, `=~`, `!~`. Regular expressions are anchored at both
// ends, as Alertmanager anchors them, and limited to what RE2 accepts (no backreferences or lookaround), so a
// silence written for Alertmanager means the same here and no matcher can backtrack for ever.
import { ValidationError } from '../shared/errors.ts';
import { requireOneOf } from '../shared/validation.ts';

export const MATCH_OPERATORS = ['=', '!=', '=~', '!~'] as const;
export type MatchOperator = (typeof MATCH_OPERATORS)[number];

export type Matcher = { name: string; op: MatchOperator; value: string };
/** A matcher as a client sends it, its operator not yet checked. */
export type MatcherInput = { name: string; op: string; value: string };

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Backreferences (\1, \k<x>) and lookaround ((?=, (?!, (?<=, (?<!) are what RE2 refuses. */
const NOT_RE2 = /\\[1-9]|\\k<|\(\?<?[=!]/;

/** The anchored expression of a regex matcher; throws a ValidationError naming `field` when it is not RE2-like. */
export function compileRegex(field: string, source: string): RegExp {
  if (NOT_RE2.test(source)) throw new ValidationError(field, `${JSON.stringify(source)} uses backreferences or lookaround, which RE2 does not support`);
  try {
    return new RegExp(`^(?:${source})$`, 'u');
  } catch (error) {
    throw new ValidationError(field, `${JSON.stringify(source)} is not a regular expression (${(error as Error).message})`);
  }
}

export function validateMatchers(matchers: readonly MatcherInput[]): Matcher[] {
  if (matchers.length === 0) throw new ValidationError('matchers', 'at least one matcher is needed (a silence of everything is refused)');
  return matchers.map((matcher, index) => {
    const field = `matchers[${index}]`;
    if (!LABEL_NAME.test(matcher.name)) throw new ValidationError(`${field}.name`, `${JSON.stringify(matcher.name)} is not a label name`);
    const op = requireOneOf(`${field}.op`, matcher.op, MATCH_OPERATORS);
    if (op === '=~' || op === '!~') compileRegex(`${field}.value`, matcher.value);
    return { name: matcher.name, op, value: matcher.value };
  });
}

/** Alertmanager's rule: an absent label is the empty string, so `team!=""` needs a team and `team=""` needs none. */
export function matches(matchers: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  return matchers.every(({ name, op, value }) => {
    const actual = labels[name] ?? '';
    switch (op) {
      case '=':
        return actual === value;
      case '!=':
        return actual !== value;
      case '=~':
        return compileRegex(name, value).test(actual);
      case '!~':
        return !compileRegex(name, value).test(actual);
      default: {
        const unhandled: never = op;
        return unhandled;
      }
    }
  });
}
