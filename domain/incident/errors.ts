// Incident-specific "not found" refusals; illegal transitions and bad input use the shared classes
// (IllegalTransitionError, ValidationError) with messages that say what is allowed.
import { NotFoundError } from '../shared/errors.ts';

export class IncidentNotFoundError extends NotFoundError {
  override name = 'IncidentNotFoundError';
  constructor(readonly command: string) {
    super(`no incident here; ${command} needs a declared incident`);
  }
}

export class RemediationStepNotFoundError extends NotFoundError {
  override name = 'RemediationStepNotFoundError';
  constructor(readonly stepId: string) {
    super(`remediation step ${stepId} does not exist in this incident; propose it first`);
  }
}

export class ResponderNotFoundError extends NotFoundError {
  override name = 'ResponderNotFoundError';
  constructor(readonly userId: string) {
    super(`user ${userId} is not a responder on this incident`);
  }
}
