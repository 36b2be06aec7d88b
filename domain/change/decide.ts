// The rules of a change: recorded once, with bounded, well-formed fields (PagerDuty's limits where it has them:
// a summary of at most 1024 characters). Recording the same change again is a retry and changes nothing; recording
// something else under a recorded id is refused, since a change is never edited.
import { requireHttpUrl, requireServiceName } from '../service/validation.ts';
import { IllegalTransitionError, ValidationError } from '../shared/errors.ts';
import { optionalText, requireInstant, requireName, requireOneOf, requireText } from '../shared/validation.ts';
import type { ChangeCommand } from './commands.ts';
import { CHANGE_KINDS, type ChangeEvent, type ChangeLink, type JsonRecord } from './events.ts';
import type { Change, ChangeState } from './state.ts';

const CHANGE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const NAME_MAX = 255;
export const SUMMARY_MAX = 1024;
const LINKS_MAX = 20;
const LINK_TEXT_MAX = 1024;
const CUSTOM_DETAILS_MAX_BYTES = 64 * 1024;

export function requireChangeId(field: string, value: string): string {
  if (!CHANGE_ID.test(value)) {
    throw new ValidationError(field, `${JSON.stringify(value.slice(0, 140))} is not a change id: 1–128 of A-Z, a-z, 0-9, ".", "_", ":" and "-"`);
  }
  return value;
}

type RecordLinks = ChangeCommand['data']['links'];

function links(values: RecordLinks): ChangeLink[] {
  const list = values ?? [];
  if (list.length > LINKS_MAX) throw new ValidationError('links', `${list.length} links; at most ${LINKS_MAX} allowed`);
  return list.map((link, index) => ({
    href: requireHttpUrl(`links[${index}].href`, link.href),
    text: optionalText(`links[${index}].text`, link.text, LINK_TEXT_MAX),
  }));
}

function customDetails(value: JsonRecord | null | undefined): JsonRecord {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new ValidationError('customDetails', 'must be an object');
  const bytes = new TextEncoder().encode(JSON.stringify(value)).length;
  if (bytes > CUSTOM_DETAILS_MAX_BYTES) {
    throw new ValidationError('customDetails', `is ${bytes} bytes of JSON; at most ${CUSTOM_DETAILS_MAX_BYTES} allowed`);
  }
  return value;
}

function trimmed(field: string, value: string | null | undefined): string | null {
  return optionalText(field, value, NAME_MAX)?.trim() ?? null;
}

/** Equal as JSON, whatever the order of object keys (a stored event's data may come back reordered, as jsonb does). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, index) => sameJson(item, b[index]));
  }
  const aKeys = Object.keys(a);
  const bRecord = b as Record<string, unknown>;
  return (
    aKeys.length === Object.keys(b).length &&
    aKeys.every((key) => Object.hasOwn(bRecord, key) && sameJson((a as Record<string, unknown>)[key], bRecord[key]))
  );
}

export function decide(command: ChangeCommand, state: ChangeState): ChangeEvent[] {
  const now = requireInstant('now', command.metadata.now);
  requireName('actorId', command.metadata.actorId, NAME_MAX);
  const { data } = command;
  const service = optionalText('service', data.service, NAME_MAX);
  const change: Change = {
    changeId: requireChangeId('changeId', data.changeId),
    service: service === null ? null : requireServiceName('service', service),
    kind: requireOneOf('kind', data.kind ?? 'other', CHANGE_KINDS),
    summary: requireText('summary', data.summary, SUMMARY_MAX),
    version: trimmed('version', data.version),
    author: trimmed('author', data.author),
    source: trimmed('source', data.source),
    at: data.at === undefined || data.at === null ? now : requireInstant('at', data.at),
    links: links(data.links),
    customDetails: customDetails(data.customDetails),
  };
  if (state.change === null) return [{ type: 'ChangeRecorded', data: change }];
  // Without a time of its own, a retry takes the time the change was first recorded with.
  const retry = data.at === undefined || data.at === null ? { ...change, at: state.change.at } : change;
  if (sameJson(retry, state.change)) return [];
  throw new IllegalTransitionError(`change ${change.changeId}`, 'already recorded', 'record', 'a new change id (a change is never edited)');
}
