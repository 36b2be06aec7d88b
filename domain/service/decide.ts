// The service catalog's rules. A service is registered once (re-registering it as it is changes nothing, so a
// retried registration is harmless), described again with UpdateService, and retired for good: a retired service
// keeps its history and accepts only the removal of its dependencies. Dependencies are declared on the calling
// service and may name a service that is not registered (yet): catalogs are imported in any order, and some
// dependencies (a payment provider) are never registered at all; queries show such names as unregistered services.
import { IllegalTransitionError, ValidationError } from '../shared/errors.ts';
import { optionalText, requireInstant, requireName } from '../shared/validation.ts';
import type { ServiceCommand, ServiceCommandType } from './commands.ts';
import { DependencyNotFoundError, ServiceNotFoundError } from './errors.ts';
import type { ServiceDescription, ServiceEvent } from './events.ts';
import type { Service, ServiceState, ServiceStatus } from './state.ts';
import { dependencyList, describeService, mergeDescription, requireServiceName, sameDescription } from './validation.ts';

const NAME_MAX = 255;
const REASON_MAX = 10_000;

/** How each command is named in refusal messages ("service api is RETIRED; declare dependency needs ACTIVE"). */
const VERBS: Record<ServiceCommandType, string> = {
  RegisterService: 'register',
  UpdateService: 'update',
  DeclareDependency: 'declare dependency',
  RemoveDependency: 'remove dependency',
  RetireService: 'retire',
  ApplyCatalogEntry: 'import',
};

export function decide(command: ServiceCommand, state: ServiceState): ServiceEvent[] {
  const at = requireInstant('now', command.metadata.now);
  requireName('actorId', command.metadata.actorId, NAME_MAX);
  const name = requireServiceName('name', command.data.name);
  const verb = VERBS[command.type];
  if (state.status !== null && state.name !== name) {
    throw new ValidationError('name', `this stream holds service ${state.name}, not ${name}`);
  }

  switch (command.type) {
    case 'RegisterService': {
      const description = describeService(command.data);
      if (state.status === null) return [{ type: 'ServiceRegistered', data: { name, ...description, at } }];
      // The same registration again is a retry; anything else would silently overwrite what others registered.
      if (state.status === 'ACTIVE' && sameDescription(state, description)) return [];
      throw new IllegalTransitionError(
        `service ${name}`,
        state.status === 'ACTIVE' ? 'already registered' : 'RETIRED',
        verb,
        'a name not registered yet (updateService changes a registered service)',
      );
    }

    case 'UpdateService': {
      const service = requireStatus(state, name, verb, ['ACTIVE']);
      const description = mergeDescription(service, command.data);
      if (sameDescription(service, description)) return [];
      return [{ type: 'ServiceUpdated', data: { name, ...description, at } }];
    }

    case 'DeclareDependency': {
      const service = requireStatus(state, name, verb, ['ACTIVE']);
      const [to] = dependencyList(name, [command.data.to]) as [string];
      if (service.dependsOn.includes(to)) return [];
      return [{ type: 'ServiceDependencyDeclared', data: { from: name, to, at } }];
    }

    case 'RemoveDependency': {
      // Also on a retired service: cleaning up what it used to call is still allowed.
      const service = requireStatus(state, name, verb, ['ACTIVE', 'RETIRED']);
      const to = requireServiceName('to', command.data.to);
      if (!service.dependsOn.includes(to)) throw new DependencyNotFoundError(name, to);
      return [{ type: 'ServiceDependencyRemoved', data: { from: name, to, at } }];
    }

    case 'RetireService': {
      const service = requireStatus(state, name, verb, ['ACTIVE', 'RETIRED']);
      if (service.status === 'RETIRED') return [];
      const reason = optionalText('reason', command.data.reason, REASON_MAX);
      return [{ type: 'ServiceRetired', data: { name, reason, at } }];
    }

    case 'ApplyCatalogEntry': {
      const description = describeService(command.data);
      const dependsOn = dependencyList(name, command.data.dependsOn);
      if (state.status === null) {
        return [{ type: 'ServiceRegistered', data: { name, ...description, at } }, ...declared(name, dependsOn, at)];
      }
      const service = requireStatus(state, name, verb, ['ACTIVE']);
      return [
        ...(sameDescription(service, description) ? [] : [updated(name, description, at)]),
        ...service.dependsOn
          .filter((to) => !dependsOn.includes(to))
          .map((to): ServiceEvent => ({ type: 'ServiceDependencyRemoved', data: { from: name, to, at } })),
        ...declared(
          name,
          dependsOn.filter((to) => !service.dependsOn.includes(to)),
          at,
        ),
      ];
    }

    default: {
      const unhandled: never = command;
      return unhandled;
    }
  }
}

function updated(name: string, description: ServiceDescription, at: string): ServiceEvent {
  return { type: 'ServiceUpdated', data: { name, ...description, at } };
}

function declared(from: string, targets: readonly string[], at: string): ServiceEvent[] {
  return targets.map((to) => ({ type: 'ServiceDependencyDeclared', data: { from, to, at } }));
}

function requireStatus(state: ServiceState, name: string, verb: string, allowed: readonly ServiceStatus[]): Service {
  if (state.status === null) throw new ServiceNotFoundError(name, verb);
  if (!allowed.includes(state.status)) {
    throw new IllegalTransitionError(`service ${name}`, state.status, verb, allowed.join(' or '));
  }
  return state;
}
