// The auditor's record (one stream per auditor, `audit-<sub>`): its decider plus the types callers need.
import type { Decider } from '../shared/decider.ts';
import type { AuditCommand } from './commands.ts';
import { decide } from './decide.ts';
import type { AuditEvent } from './events.ts';
import { evolve, initialState, type AuditorState } from './state.ts';

export const auditDecider: Decider<AuditorState, AuditCommand, AuditEvent> = { decide, evolve, initialState };

export * from './commands.ts';
export * from './events.ts';
export * from './state.ts';
export { decide } from './decide.ts';
