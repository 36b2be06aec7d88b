// The role matrix (DESIGN.md "Auth, tenancy, audit"). Resolvers and routes ask for an action, never for a role, so
// who may do what is decided here and nowhere else.
import { ForbiddenError, UnauthenticatedError } from './errors.ts';
import type { Principal } from './token.ts';

export const ROLES = ['viewer', 'responder', 'commander', 'auditor', 'admin', 'ingest'] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: unknown): value is Role {
  return ROLES.some((role) => role === value);
}

/** Roles allowed each action besides `admin`, which may do everything. */
const PERMISSIONS = {
  /** Queries and subscriptions over incidents, alerts, changes and topology. */
  read: ['viewer', 'responder', 'commander', 'auditor'],
  /**
   * Declare, acknowledge, note, post status updates, assign and unassign roles other than the commander's, mitigate,
   * resolve, reopen, propose and run remediation steps.
   */
  'incident:respond': ['responder', 'commander'],
  /** Change severity, make or unmake the commander (assign, reassign or unassign), close. */
  'incident:command': ['commander'],
  /** recordChange: whoever responds may note a change they made or found (senders use the ingestion route). */
  'change:record': ['responder', 'commander'],
  /**
   * The service catalog: register, update, retire, declare and remove dependencies, import. It drives blast radius
   * and change correlation for everyone, so, like severity, it is the commanders' (and admins') to change.
   */
  'topology:write': ['commander'],
  /** auditTrail and verifyStream. */
  'audit:read': ['auditor'],
  /** The ingestion routes; an ingest token can do nothing else. */
  ingest: ['ingest'],
  /** Views of the platform itself (projection status and lag): admins only. */
  operate: [],
} as const satisfies Record<string, readonly Role[]>;

export type Action = keyof typeof PERMISSIONS;

export function rolesAllowed(action: Action): readonly Role[] {
  return ['admin', ...PERMISSIONS[action]];
}

export function allows(roles: readonly Role[], action: Action): boolean {
  const allowed = rolesAllowed(action);
  return roles.some((role) => allowed.includes(role));
}

/** What every resolver and protected route calls first: the caller, if it may perform `action`. */
export function requireRole(context: { auth: Principal | null }, action: Action): Principal {
  const { auth } = context;
  if (auth === null) throw new UnauthenticatedError('authentication required');
  if (!allows(auth.roles, action)) throw new ForbiddenError(action, auth.roles, rolesAllowed(action));
  return auth;
}
