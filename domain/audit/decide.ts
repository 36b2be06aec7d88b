// The rules of an auditor's record: a read is recorded as it was answered, with bounded arguments and results that
// agree with themselves (a verification is ok exactly when no revision broke, and a broken revision was read).
import { ValidationError } from '../shared/errors.ts';
import { optionalText, requireInstant, requireName } from '../shared/validation.ts';
import type { AuditCommand } from './commands.ts';
import type { AuditEvent, AuditTrailFilter } from './events.ts';
import type { AuditorState } from './state.ts';

/** Stream ids, actor ids and cursors: the store allows stream ids of 512 characters. */
const ID_MAX = 512;
const NAME_MAX = 255;

function count(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new ValidationError(field, `must be a whole number ≥ 0, got ${value}`);
  return value;
}

function optionalInstant(field: string, value: string | null): string | null {
  return value === null ? null : requireInstant(field, value);
}

function filterOf(filter: AuditTrailFilter): AuditTrailFilter {
  const from = optionalInstant('filter.from', filter.from);
  const to = optionalInstant('filter.to', filter.to);
  if (from !== null && to !== null && to < from) throw new ValidationError('filter.to', 'must not be before filter.from');
  return {
    streamId: optionalText('filter.streamId', filter.streamId, ID_MAX),
    actor: optionalText('filter.actor', filter.actor, ID_MAX),
    from,
    to,
    first: filter.first === null ? null : count('filter.first', filter.first),
    after: optionalText('filter.after', filter.after, ID_MAX),
  };
}

export function decide(command: AuditCommand, _state: AuditorState): AuditEvent[] {
  const at = requireInstant('now', command.metadata.now);
  requireName('actorId', command.metadata.actorId, NAME_MAX);

  switch (command.type) {
    case 'RecordAuditTrailRead': {
      const { filter, returned, endCursor, hasNextPage } = command.data;
      count('returned', returned);
      if ((returned === 0) !== (endCursor === null)) {
        throw new ValidationError('endCursor', 'is null exactly when no entry was returned');
      }
      return [
        {
          type: 'AuditTrailRead',
          data: {
            filter: filterOf(filter),
            returned,
            endCursor: optionalText('endCursor', endCursor, ID_MAX),
            hasNextPage,
            at,
          },
        },
      ];
    }
    case 'RecordStreamVerification': {
      const { streamId, ok, events, brokenAtRevision } = command.data;
      count('events', events);
      if (ok !== (brokenAtRevision === null)) {
        throw new ValidationError('brokenAtRevision', 'is null exactly when the stream verified ok');
      }
      if (brokenAtRevision !== null && count('brokenAtRevision', brokenAtRevision) >= events) {
        throw new ValidationError('brokenAtRevision', `${brokenAtRevision} is not among the ${events} events read`);
      }
      return [
        {
          type: 'StreamVerified',
          data: { streamId: requireName('streamId', streamId, ID_MAX), ok, events, brokenAtRevision, at },
        },
      ];
    }
    case 'RecordIncidentRead': {
      const { incidentId, asOf, found } = command.data;
      return [
        {
          type: 'IncidentRead',
          data: { incidentId: requireName('incidentId', incidentId, ID_MAX), asOf: optionalInstant('asOf', asOf), found, at },
        },
      ];
    }
    default: {
      const unhandled: never = command;
      return unhandled;
    }
  }
}
