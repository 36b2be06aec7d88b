// The change aggregate's public surface: its decider plus the types and rules callers need.
import type { Decider } from '../shared/decider.ts';
import type { ChangeCommand } from './commands.ts';
import { decide } from './decide.ts';
import type { ChangeEvent } from './events.ts';
import { evolve, initialState, type ChangeState } from './state.ts';

export const changeDecider: Decider<ChangeState, ChangeCommand, ChangeEvent> = { decide, evolve, initialState };

export * from './commands.ts';
export * from './events.ts';
export * from './state.ts';
export { decide, requireChangeId, SUMMARY_MAX } from './decide.ts';
