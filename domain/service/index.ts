// The service aggregate's public surface: its decider plus the types, rules and errors callers need.
import type { Decider } from '../shared/decider.ts';
import type { ServiceCommand } from './commands.ts';
import { decide } from './decide.ts';
import type { ServiceEvent } from './events.ts';
import { evolve, initialState, type ServiceState } from './state.ts';

export const serviceDecider: Decider<ServiceState, ServiceCommand, ServiceEvent> = { decide, evolve, initialState };

export * from './catalog.ts';
export * from './commands.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './graph.ts';
export * from './state.ts';
export { requireServiceName } from './validation.ts';
export { decide } from './decide.ts';
