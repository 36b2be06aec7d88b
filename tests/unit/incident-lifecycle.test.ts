import { describe, test } from 'node:test';
import {
  INCIDENT_STATUSES,
  IncidentNotFoundError,
  type IncidentCommand,
  type IncidentEvent,
  type IncidentStatus,
} from '../../domain/incident/index.ts';
import { IllegalTransitionError, ValidationError } from '../../domain/shared/errors.ts';
import {
  acknowledge,
  acknowledged,
  addNote,
  approve,
  assign,
  changeSeverity,
  close,
  closed,
  declare,
  declared,
  given,
  historyIn,
  linkAlert,
  linkChange,
  mitigate,
  mitigated,
  postStatusUpdate,
  propose,
  recordFailure,
  recordSuccess,
  reopen,
  reopened,
  resolve,
  resolved,
  severityChanged,
  skip,
  start,
  unassign,
} from './support/incident.ts';

describe('declare', () => {
  test('declaring starts an OPEN incident with trimmed title and services', () => {
    given([])
      .when(declare({ title: '  Checkout errors ', services: [' checkout', 'payments'], summary: '5xx on /pay' }))
      .then([declared({ services: ['checkout', 'payments'], summary: '5xx on /pay' })]);
  });

  test('services and summary are optional; a blank summary means none', () => {
    given([])
      .when(declare({ services: undefined, summary: '   ' }))
      .then([declared({ services: [], summary: null })]);
  });

  test('a title of exactly 200 characters is accepted', () => {
    const title = 'x'.repeat(200);
    given([]).when(declare({ title })).then([declared({ title })]);
  });

  test('a blank title is refused', () => {
    given([]).when(declare({ title: '  ' })).thenThrows(ValidationError, 'title: must not be blank (1–200 characters)');
  });

  test('a title over 200 characters is refused', () => {
    given([])
      .when(declare({ title: 'x'.repeat(201) }))
      .thenThrows(ValidationError, 'title: is 201 characters; at most 200 allowed');
  });

  test('an unknown severity is refused, naming the allowed ones', () => {
    const command = declare();
    const bad = { ...command, data: { ...command.data, severity: 'SEV0' } } as unknown as IncidentCommand;
    given([]).when(bad).thenThrows(ValidationError, 'severity: "SEV0" is not one of SEV1, SEV2, SEV3, SEV4');
  });

  test('a service listed twice is refused', () => {
    given([])
      .when(declare({ services: ['checkout', 'checkout '] }))
      .thenThrows(ValidationError, 'services: "checkout" is listed twice');
  });

  test('a blank service name is refused', () => {
    given([]).when(declare({ services: ['checkout', ''] })).thenThrows(ValidationError, /^services: must not be blank/);
  });

  test('a command whose clock is not an ISO-8601 instant is refused', () => {
    const command = { ...declare(), metadata: { now: 'yesterday', actorId: 'alice' } };
    given([]).when(command).thenThrows(ValidationError, /^now: "yesterday" is not an ISO-8601 instant/);
  });

  test('declaring an incident that already exists is refused', () => {
    given([declared()])
      .when(declare())
      .thenThrows(IllegalTransitionError, 'incident is OPEN; declare needs a new incident id');
  });
});

describe('commands on an incident that was never declared', () => {
  const commands: IncidentCommand[] = [
    acknowledge(),
    mitigate(),
    resolve(),
    reopen(),
    close(),
    changeSeverity('SEV1'),
    assign('bob', 'RESPONDER'),
    unassign('bob'),
    addNote('hello'),
    postStatusUpdate('investigating'),
    propose('s1'),
    approve('s1'),
    start('s1'),
    recordSuccess('s1'),
    recordFailure('s1', 'boom'),
    skip('s1'),
    linkAlert('fp'),
    linkChange('c1'),
  ];
  for (const command of commands) {
    test(`${command.type} is refused with IncidentNotFoundError`, () => {
      given([]).when(command).thenThrows(IncidentNotFoundError, /^no incident here; .+ needs a declared incident$/);
    });
  }
});

// Each lifecycle command: the statuses it is allowed from, the event it then records, and the refusal text.
interface LifecycleRule {
  command: IncidentCommand;
  allowed: readonly IncidentStatus[];
  event: IncidentEvent;
  needs: string;
}
const lifecycle: LifecycleRule[] = [
  { command: acknowledge(), allowed: ['OPEN'], event: acknowledged(), needs: 'acknowledge needs OPEN' },
  {
    command: mitigate('feature flag off'),
    allowed: ['OPEN', 'ACKNOWLEDGED'],
    event: mitigated('feature flag off'),
    needs: 'mitigate needs OPEN or ACKNOWLEDGED',
  },
  {
    command: resolve('rolled back'),
    allowed: ['OPEN', 'ACKNOWLEDGED', 'MITIGATED'],
    event: resolved('rolled back'),
    needs: 'resolve needs OPEN, ACKNOWLEDGED or MITIGATED',
  },
  { command: close(), allowed: ['RESOLVED'], event: closed(), needs: 'close needs RESOLVED' },
  {
    command: reopen('errors are back'),
    allowed: ['RESOLVED'],
    event: reopened('errors are back'),
    needs: 'reopen needs RESOLVED',
  },
];

describe('lifecycle transitions', () => {
  for (const rule of lifecycle) {
    for (const status of INCIDENT_STATUSES) {
      if (rule.allowed.includes(status)) {
        test(`${rule.command.type} from ${status} records ${rule.event.type}`, () => {
          given(historyIn[status]).when(rule.command).then([rule.event]);
        });
      } else if (!(rule.command.type === 'AcknowledgeIncident' && status === 'ACKNOWLEDGED')) {
        test(`${rule.command.type} from ${status} is refused: "incident is ${status}; ${rule.needs}"`, () => {
          given(historyIn[status])
            .when(rule.command)
            .thenThrows(IllegalTransitionError, `incident is ${status}; ${rule.needs}`);
        });
      }
    }
  }

  test('acknowledging an ACKNOWLEDGED incident records nothing (two responders, one acknowledgement)', () => {
    given(historyIn.ACKNOWLEDGED).when(acknowledge()).then([]);
  });

  test('mitigating without a summary records a null summary', () => {
    given(historyIn.OPEN).when(mitigate()).then([mitigated(null)]);
  });

  test('resolving needs a resolution', () => {
    given(historyIn.OPEN).when(resolve(' ')).thenThrows(ValidationError, /^resolution: must not be blank/);
  });

  test('reopening needs a reason', () => {
    given(historyIn.RESOLVED).when(reopen('')).thenThrows(ValidationError, /^reason: must not be blank/);
  });

  test('a reopened incident is OPEN again, so it must be acknowledged anew', () => {
    given([declared(), acknowledged(), mitigated(), resolved(), reopened()]).when(acknowledge()).then([acknowledged()]);
  });

  test('a reopened incident can be resolved and closed again', () => {
    given([...historyIn.RESOLVED, reopened(), resolved('config fixed')]).when(close()).then([closed()]);
  });
});

describe('change severity', () => {
  for (const status of ['OPEN', 'ACKNOWLEDGED', 'MITIGATED', 'RESOLVED'] as const) {
    test(`severity can change while ${status}`, () => {
      given(historyIn[status])
        .when(changeSeverity('SEV1', 'customers affected'))
        .then([severityChanged('SEV2', 'SEV1', 'customers affected')]);
    });
  }

  test('the reason is optional', () => {
    given(historyIn.OPEN).when(changeSeverity('SEV3')).then([severityChanged('SEV2', 'SEV3', null)]);
  });

  test('changes are relative to the current severity', () => {
    given([...historyIn.OPEN, severityChanged('SEV2', 'SEV1')])
      .when(changeSeverity('SEV4'))
      .then([severityChanged('SEV1', 'SEV4')]);
  });

  test('changing to the same severity is refused', () => {
    given(historyIn.OPEN)
      .when(changeSeverity('SEV2'))
      .thenThrows(ValidationError, 'severity: incident is already SEV2; choose a different severity');
  });

  test('a CLOSED incident keeps its severity', () => {
    given(historyIn.CLOSED)
      .when(changeSeverity('SEV1'))
      .thenThrows(
        IllegalTransitionError,
        'incident is CLOSED; change severity needs an incident that is not CLOSED ' +
          '(a closed incident accepts only notes)',
      );
  });
});
