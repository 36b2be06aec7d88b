// Typed refusals of a command. Messages say what is allowed; the gateway's error formatter maps the classes to
// client codes (BAD_USER_INPUT, CONFLICT, NOT_FOUND) and nothing in the domain knows about those codes.

export abstract class DomainError extends Error {}

/** The command's own data is unacceptable, whatever the state. */
export class ValidationError extends DomainError {
  override name = 'ValidationError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** The command is well formed but not allowed in the current state. */
export class IllegalTransitionError extends DomainError {
  override name = 'IllegalTransitionError';
  constructor(
    /** What is in the wrong state, e.g. "incident" or "remediation step 01J…". */
    readonly subject: string,
    readonly current: string,
    readonly attempted: string,
    /** What `attempted` needs, e.g. "OPEN or ACKNOWLEDGED". */
    readonly needs: string,
  ) {
    super(`${subject} is ${current}; ${attempted} needs ${needs}`);
  }
}

/** The command names something that does not exist (the aggregate itself, or an entity inside it). */
export class NotFoundError extends DomainError {
  override name = 'NotFoundError';
}
