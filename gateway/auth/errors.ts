// Typed refusals of the auth layer; gateway/errors.ts maps them to UNAUTHENTICATED / FORBIDDEN and HTTP 401 / 403.
import type { Action, Role } from './roles.ts';

/** No credentials, or credentials that do not verify (forged, expired, wrong algorithm, bad claims). */
export class UnauthenticatedError extends Error {
  override name = 'UnauthenticatedError';
}

/** Authenticated, but none of the caller's roles allows the action. */
export class ForbiddenError extends Error {
  override name = 'ForbiddenError';
  constructor(
    readonly action: Action,
    readonly roles: readonly Role[],
    readonly allowed: readonly Role[],
  ) {
    super(`${action} needs one of the roles ${allowed.join(', ')}; this token has ${roles.join(', ') || 'none'}`);
  }
}
