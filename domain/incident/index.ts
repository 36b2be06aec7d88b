// The incident aggregate's public surface: its decider plus the types and errors callers need.
import type { Decider } from '../shared/decider.ts';
import type { IncidentCommand } from './commands.ts';
import { decide } from './decide.ts';
import type { IncidentEvent } from './events.ts';
import { evolve, initialState, type IncidentState } from './state.ts';

export const incidentDecider: Decider<IncidentState, IncidentCommand, IncidentEvent> = { decide, evolve, initialState };

export * from './commands.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './state.ts';
export { decide } from './decide.ts';
