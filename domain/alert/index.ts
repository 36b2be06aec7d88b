// The alert aggregate's public surface: its decider plus the types callers need.
import type { Decider } from '../shared/decider.ts';
import type { AlertCommand } from './commands.ts';
import { decide } from './decide.ts';
import type { AlertEvent } from './events.ts';
import { evolve, initialState, type AlertState } from './state.ts';

export const alertDecider: Decider<AlertState, AlertCommand, AlertEvent> = { decide, evolve, initialState };

export * from './commands.ts';
export * from './events.ts';
export * from './severity.ts';
export * from './state.ts';
export { decide, FINGERPRINT_MAX, SUMMARY_MAX, TEXT_MAX } from './decide.ts';
