// How a source's severity word becomes an incident severity (DESIGN.md; issue 4 "Correlation"): Prometheus' `severity`
// label and the Events v2 `payload.severity` use the same four words, matched without regard to case.
import type { Severity } from '../incident/events.ts';

const SEVERITY_OF_WORD: Readonly<Record<string, Severity>> = {
  critical: 'SEV1',
  error: 'SEV2',
  warning: 'SEV3',
  info: 'SEV4',
};

/** The severity a word stands for; null for words of no known level (e.g. `none`, `page`) or none at all. */
export function severityOf(word: string | null | undefined): Severity | null {
  if (word === null || word === undefined) return null;
  return SEVERITY_OF_WORD[word.trim().toLowerCase()] ?? null;
}
