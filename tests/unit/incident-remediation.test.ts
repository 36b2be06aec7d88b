import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  RemediationStepNotFoundError,
  type IncidentCommand,
  type IncidentEvent,
  type RemediationStepStatus,
} from '../../domain/incident/index.ts';
import { IllegalTransitionError, ValidationError } from '../../domain/shared/errors.ts';
import {
  ACTOR,
  approve,
  close,
  closed,
  given,
  historyIn,
  NOW,
  propose,
  recordFailure,
  recordSuccess,
  resolved,
  skip,
  start,
  stepApproved,
  stepFailed,
  stepProposed,
  stepSkipped,
  stepStarted,
  stepSucceeded,
} from './support/incident.ts';

const STEP = 's1';
/** A shortest history (after declaring) that leaves step s1 in each status. */
const stepIn: Record<RemediationStepStatus, IncidentEvent[]> = {
  PROPOSED: [stepProposed(STEP)],
  APPROVED: [stepProposed(STEP), stepApproved(STEP)],
  IN_PROGRESS: [stepProposed(STEP), stepApproved(STEP), stepStarted(STEP)],
  SUCCEEDED: [stepProposed(STEP), stepApproved(STEP), stepStarted(STEP), stepSucceeded(STEP)],
  FAILED: [stepProposed(STEP), stepApproved(STEP), stepStarted(STEP), stepFailed(STEP, 'timeout')],
  SKIPPED: [stepProposed(STEP), stepSkipped(STEP)],
};
const STEP_STATUSES = Object.keys(stepIn) as RemediationStepStatus[];

describe('propose remediation step', () => {
  test('proposing records the step with its proposer and time', () => {
    given(historyIn.ACKNOWLEDGED)
      .when(propose(STEP, { description: 'v42 broke it', command: 'kubectl rollout undo' }))
      .then([stepProposed(STEP, { description: 'v42 broke it', command: 'kubectl rollout undo' })]);
  });

  test('description and command are optional', () => {
    given(historyIn.OPEN).when(propose(STEP)).then([stepProposed(STEP)]);
  });

  test('a proposed step is tracked in state', () => {
    given(historyIn.OPEN)
      .when(propose(STEP))
      .thenState((state) => {
        assert.ok(state.status !== null);
        assert.deepEqual(state.remediationSteps[0], {
          stepId: STEP,
          title: 'Roll back checkout',
          description: null,
          command: null,
          status: 'PROPOSED',
          proposedBy: ACTOR,
          proposedAt: NOW,
          updatedBy: ACTOR,
          updatedAt: NOW,
          output: null,
          reason: null,
        });
      });
  });

  test('a step id already used in the incident is refused', () => {
    given([...historyIn.OPEN, stepProposed(STEP)])
      .when(propose(STEP))
      .thenThrows(ValidationError, 'stepId: remediation step s1 already exists; use a new id');
  });

  test('a blank title is refused', () => {
    given(historyIn.OPEN).when(propose(STEP, { title: '' })).thenThrows(ValidationError, /^title: must not be blank/);
  });

  for (const status of ['RESOLVED', 'CLOSED'] as const) {
    test(`no step can be proposed while ${status}`, () => {
      given(historyIn[status])
        .when(propose(STEP))
        .thenThrows(
          IllegalTransitionError,
          `incident is ${status}; propose remediation step needs OPEN, ACKNOWLEDGED or MITIGATED`,
        );
    });
  }
});

// Each step command: the step statuses it is allowed from, the event it records, and what the refusal says.
interface StepRule {
  command: IncidentCommand;
  allowed: readonly RemediationStepStatus[];
  event: IncidentEvent;
  needs: string;
}
const rules: StepRule[] = [
  { command: approve(STEP), allowed: ['PROPOSED'], event: stepApproved(STEP), needs: 'approve needs PROPOSED' },
  { command: start(STEP), allowed: ['APPROVED'], event: stepStarted(STEP), needs: 'start needs APPROVED' },
  {
    command: recordSuccess(STEP, 'deployment "checkout" rolled back'),
    allowed: ['IN_PROGRESS'],
    event: stepSucceeded(STEP, 'deployment "checkout" rolled back'),
    needs: 'record success needs IN_PROGRESS',
  },
  {
    command: recordFailure(STEP, 'exit code 1', 'error: forbidden'),
    allowed: ['IN_PROGRESS'],
    event: stepFailed(STEP, 'exit code 1', 'error: forbidden'),
    needs: 'record failure needs IN_PROGRESS',
  },
  {
    command: skip(STEP, 'flag flip was enough'),
    allowed: ['PROPOSED', 'APPROVED'],
    event: stepSkipped(STEP, 'flag flip was enough'),
    needs: 'skip needs PROPOSED or APPROVED',
  },
];

describe('remediation step transitions', () => {
  for (const rule of rules) {
    for (const status of STEP_STATUSES) {
      const history = [...historyIn.MITIGATED, ...stepIn[status]];
      if (rule.allowed.includes(status)) {
        test(`${rule.command.type} on a ${status} step records ${rule.event.type}`, () => {
          given(history).when(rule.command).then([rule.event]);
        });
      } else {
        test(`${rule.command.type} on a ${status} step is refused: "${rule.needs}"`, () => {
          given(history)
            .when(rule.command)
            .thenThrows(IllegalTransitionError, `remediation step s1 is ${status}; ${rule.needs}`);
        });
      }
    }
    test(`${rule.command.type} on an unknown step is refused with RemediationStepNotFoundError`, () => {
      given(historyIn.OPEN)
        .when(rule.command)
        .thenThrows(RemediationStepNotFoundError, /^remediation step s1 does not exist in this incident/);
    });
  }

  test('each transition records who made it and when, with output and reason', () => {
    given([...historyIn.OPEN, ...stepIn.IN_PROGRESS])
      .when(recordFailure(STEP, 'exit code 1', 'error: forbidden'))
      .thenState((state) => {
        assert.ok(state.status !== null);
        const step = state.remediationSteps[0];
        assert.equal(step?.status, 'FAILED');
        assert.equal(step?.updatedBy, ACTOR);
        assert.equal(step?.updatedAt, NOW);
        assert.equal(step?.output, 'error: forbidden');
        assert.equal(step?.reason, 'exit code 1');
      });
  });

  test('success output is optional', () => {
    given([...historyIn.OPEN, ...stepIn.IN_PROGRESS]).when(recordSuccess(STEP)).then([stepSucceeded(STEP, null)]);
  });

  test('a failure needs an error', () => {
    given([...historyIn.OPEN, ...stepIn.IN_PROGRESS])
      .when(recordFailure(STEP, ' '))
      .thenThrows(ValidationError, /^error: must not be blank/);
  });

  test('output over 65,536 characters is refused', () => {
    given([...historyIn.OPEN, ...stepIn.IN_PROGRESS])
      .when(recordSuccess(STEP, 'x'.repeat(65_537)))
      .thenThrows(ValidationError, 'output: is 65537 characters; at most 65536 allowed');
  });

  test('skipping needs a reason', () => {
    given([...historyIn.OPEN, ...stepIn.PROPOSED])
      .when(skip(STEP, ''))
      .thenThrows(ValidationError, /^reason: must not be blank/);
  });
});

describe('remediation steps and the incident lifecycle', () => {
  test('a step running when the incident is resolved can still report its outcome', () => {
    given([...historyIn.OPEN, ...stepIn.IN_PROGRESS, resolved()])
      .when(recordSuccess(STEP, 'done'))
      .then([stepSucceeded(STEP, 'done')]);
  });

  test('leftover proposals can be skipped on a RESOLVED incident', () => {
    given([...historyIn.OPEN, ...stepIn.APPROVED, resolved()]).when(skip(STEP)).then([stepSkipped(STEP)]);
  });

  test('approving and starting need an active incident', () => {
    given([...historyIn.OPEN, ...stepIn.PROPOSED, resolved()])
      .when(approve(STEP))
      .thenThrows(IllegalTransitionError, 'incident is RESOLVED; approve needs OPEN, ACKNOWLEDGED or MITIGATED');
    given([...historyIn.OPEN, ...stepIn.APPROVED, resolved()])
      .when(start(STEP))
      .thenThrows(IllegalTransitionError, 'incident is RESOLVED; start needs OPEN, ACKNOWLEDGED or MITIGATED');
  });

  test('an incident with a running step cannot be closed until the step reports', () => {
    given([...historyIn.OPEN, ...stepIn.IN_PROGRESS, resolved()])
      .when(close())
      .thenThrows(
        IllegalTransitionError,
        'remediation step s1 is IN_PROGRESS; ' +
          'close needs every started step finished (record its success or failure first)',
      );
  });

  test('unstarted or finished steps do not block closing', () => {
    given([...historyIn.OPEN, ...stepIn.PROPOSED, stepProposed('s2'), resolved()]).when(close()).then([closed()]);
  });

  test('a CLOSED incident accepts no step transitions', () => {
    given([...historyIn.OPEN, ...stepIn.PROPOSED, resolved(), closed()])
      .when(skip(STEP))
      .thenThrows(IllegalTransitionError, /^incident is CLOSED; skip needs an incident that is not CLOSED/);
  });
});
