// An auditor's record as a fold of its events: how many reads of each kind it holds.
import type { AuditEvent } from './events.ts';

export interface AuditorState {
  readonly trailReads: number;
  readonly verifications: number;
  readonly incidentReads: number;
}

export function initialState(): AuditorState {
  return { trailReads: 0, verifications: 0, incidentReads: 0 };
}

export function evolve(state: AuditorState, event: AuditEvent): AuditorState {
  switch (event.type) {
    case 'AuditTrailRead':
      return { ...state, trailReads: state.trailReads + 1 };
    case 'StreamVerified':
      return { ...state, verifications: state.verifications + 1 };
    case 'IncidentRead':
      return { ...state, incidentReads: state.incidentReads + 1 };
    default: {
      const unhandled: never = event;
      return unhandled;
    }
  }
}
