// Service-specific "not found" refusals; bad input and illegal transitions use the shared classes.
import { NotFoundError } from '../shared/errors.ts';

export class ServiceNotFoundError extends NotFoundError {
  override name = 'ServiceNotFoundError';
  constructor(
    readonly service: string,
    readonly command: string,
  ) {
    super(`service ${service} is not registered; ${command} needs a registered service`);
  }
}

export class DependencyNotFoundError extends NotFoundError {
  override name = 'DependencyNotFoundError';
  constructor(
    readonly from: string,
    readonly to: string,
  ) {
    super(`service ${from} does not depend on ${to}; nothing to remove`);
  }
}
