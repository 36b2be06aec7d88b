// A service catalog as imported in bulk (JSON or YAML, decoded by the caller): a list of services, each with the
// whole list of what it depends on, either as the document itself or under `services`. Every entry is checked
// before anything is applied, and every problem is reported with the entry it is in, so a bad catalog is refused
// whole with one answer that says everything to fix.
import { DomainError, ValidationError } from '../shared/errors.ts';
import type { ServiceDescriptionInput } from './commands.ts';
import { dependencyList, describeService, requireServiceName } from './validation.ts';

export type CatalogEntry = { name: string; dependsOn: string[] } & ServiceDescriptionInput;

const FIELDS = ['name', 'tier', 'owner', 'runbookUrl', 'tags', 'dependsOn'] as const;
/** Problems quoted in the message; the rest are counted. */
const QUOTED_PROBLEMS = 20;

export class CatalogError extends ValidationError {
  override name = 'CatalogError';
  constructor(readonly problems: readonly string[]) {
    const quoted = problems.slice(0, QUOTED_PROBLEMS).join('; ');
    const more = problems.length > QUOTED_PROBLEMS ? `; and ${problems.length - QUOTED_PROBLEMS} more` : '';
    super('document', `the catalog was not imported (nothing was changed): ${quoted}${more}`);
  }
}

/** How an entry is named in problems: its position, and its name when it has one. */
export function entryLabel(index: number, name?: unknown): string {
  return typeof name === 'string' ? `services[${index}] (${name.slice(0, 100)})` : `services[${index}]`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(field: string, value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new ValidationError(field, 'must be a string');
  return value;
}

function stringList(field: string, value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new ValidationError(field, 'must be a list of strings');
  }
  return value;
}

function optionalInteger(field: string, value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number') throw new ValidationError(field, 'must be a number');
  return value;
}

function entryOf(value: unknown): CatalogEntry {
  if (!isRecord(value)) throw new ValidationError('entry', 'must be an object with at least a name');
  const unknown = Object.keys(value).filter((key) => !FIELDS.some((field) => field === key));
  if (unknown.length > 0) {
    throw new ValidationError(unknown.join(', '), `unknown field(s); an entry has ${FIELDS.join(', ')}`);
  }
  if (typeof value.name !== 'string') throw new ValidationError('name', 'is required and must be a string');
  const name = requireServiceName('name', value.name);
  const description = describeService({
    tier: optionalInteger('tier', value.tier),
    owner: optionalString('owner', value.owner),
    runbookUrl: optionalString('runbookUrl', value.runbookUrl),
    tags: stringList('tags', value.tags),
  });
  return { name, ...description, dependsOn: dependencyList(name, stringList('dependsOn', value.dependsOn)) };
}

/** The entries of a decoded catalog document; CatalogError listing every problem otherwise. */
export function readCatalog(document: unknown): CatalogEntry[] {
  const list = isRecord(document) && Object.keys(document).length === 1 ? document.services : document;
  if (!Array.isArray(list)) {
    throw new CatalogError(['the document must be a list of services, or an object whose only field `services` is one']);
  }
  const problems: string[] = [];
  const entries: CatalogEntry[] = [];
  const seen = new Map<string, number>();
  list.forEach((value, index) => {
    const label = entryLabel(index, isRecord(value) ? value.name : undefined);
    try {
      const entry = entryOf(value);
      const first = seen.get(entry.name);
      if (first !== undefined) problems.push(`${label}: ${entry.name} is already described by services[${first}]`);
      seen.set(entry.name, first ?? index);
      entries.push(entry);
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      problems.push(`${label}: ${error.message}`);
    }
  });
  if (problems.length > 0) throw new CatalogError(problems);
  return entries;
}
