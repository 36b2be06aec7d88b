// The input rules of the service catalog, shared by the service decider, catalog imports and changes (whose
// `service` must be a name the catalog could hold).
import { ValidationError } from '../shared/errors.ts';
import { optionalText } from '../shared/validation.ts';
import type { ServiceDescriptionInput } from './commands.ts';
import type { ServiceDescription } from './events.ts';

const SERVICE_NAME = /^[a-z0-9._-]{1,100}$/;
const TIER_MIN = 1;
const TIER_MAX = 5;
const OWNER_MAX = 255;
const URL_MAX = 2048;
const TAG_MAX = 100;
const TAGS_MAX = 50;

/** Names are what stream ids, URLs and label values carry: lower-case letters, digits, ".", "_" and "-". */
export function requireServiceName(field: string, value: string): string {
  const name = value.trim();
  if (!SERVICE_NAME.test(name)) {
    throw new ValidationError(
      field,
      `${JSON.stringify(value.slice(0, 120))} is not a service name: 1–100 characters of a-z, 0-9, ".", "_" and "-"`,
    );
  }
  return name;
}

/** Links and runbooks are followed by people in a hurry: only absolute http(s) URLs. */
export function requireHttpUrl(field: string, value: string): string {
  const trimmed = value.trim();
  let url: URL | undefined;
  try {
    url = trimmed.length <= URL_MAX ? new URL(trimmed) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ValidationError(field, `${JSON.stringify(trimmed.slice(0, 120))} is not an http(s) URL of at most ${URL_MAX} characters`);
  }
  return trimmed;
}

function tier(value: number | null | undefined): number | null {
  if (value === undefined || value === null) return null;
  if (!Number.isInteger(value) || value < TIER_MIN || value > TIER_MAX) {
    throw new ValidationError('tier', `must be an integer from ${TIER_MIN} (most critical) to ${TIER_MAX}, got ${value}`);
  }
  return value;
}

function tags(values: readonly string[] | null | undefined): string[] {
  const list = (values ?? []).map((tag) => tag.trim());
  if (list.length > TAGS_MAX) throw new ValidationError('tags', `${list.length} tags; at most ${TAGS_MAX} allowed`);
  for (const tag of list) {
    if (tag.length === 0 || tag.length > TAG_MAX) {
      throw new ValidationError('tags', `${JSON.stringify(tag.slice(0, 120))} must be 1–${TAG_MAX} characters`);
    }
  }
  const duplicate = list.find((tag, index) => list.indexOf(tag) !== index);
  if (duplicate !== undefined) throw new ValidationError('tags', `${JSON.stringify(duplicate)} is listed twice`);
  return list;
}

/** A whole description from input; absent fields are unset. */
export function describeService(input: ServiceDescriptionInput): ServiceDescription {
  const runbookUrl = optionalText('runbookUrl', input.runbookUrl, URL_MAX);
  return {
    tier: tier(input.tier),
    owner: optionalText('owner', input.owner, OWNER_MAX)?.trim() ?? null,
    runbookUrl: runbookUrl === null ? null : requireHttpUrl('runbookUrl', runbookUrl),
    tags: tags(input.tags),
  };
}

/** `current` with the fields `input` gives (undefined keeps a field, null clears it). */
export function mergeDescription(current: ServiceDescription, input: ServiceDescriptionInput): ServiceDescription {
  return describeService({
    tier: input.tier === undefined ? current.tier : input.tier,
    owner: input.owner === undefined ? current.owner : input.owner,
    runbookUrl: input.runbookUrl === undefined ? current.runbookUrl : input.runbookUrl,
    tags: input.tags === undefined ? current.tags : input.tags,
  });
}

export function sameDescription(a: ServiceDescription, b: ServiceDescription): boolean {
  return (
    a.tier === b.tier &&
    a.owner === b.owner &&
    a.runbookUrl === b.runbookUrl &&
    a.tags.length === b.tags.length &&
    a.tags.every((tag, index) => tag === b.tags[index])
  );
}

/** Dependency targets of one service: valid names, none twice, never the service itself. */
export function dependencyList(name: string, values: readonly string[]): string[] {
  const names = values.map((value) => requireServiceName('dependsOn', value));
  const duplicate = names.find((dependency, index) => names.indexOf(dependency) !== index);
  if (duplicate !== undefined) throw new ValidationError('dependsOn', `${duplicate} is listed twice`);
  if (names.includes(name)) throw new ValidationError('dependsOn', `${name} cannot depend on itself`);
  return names;
}
