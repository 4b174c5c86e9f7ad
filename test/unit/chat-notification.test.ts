import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { AwsNotifier } from '../../lambdas/adapters/aws/aws-notifier';
import { chatNotification, diffSummary } from '../../lambdas/adapters/aws/chat-notification';
import type { GuardEvent } from '../../lambdas/ports/notifier';

const drift: GuardEvent = {
  type: 'Drift Detected',
  tenant: 'acme',
  time: '2026-11-25T10:00:00.000Z',
  id: 'acme:drift:1',
  detail: {
    resource: { kind: 'integration', name: 'ServiceNow Prod', id: 'abc123' },
    change: 'modified',
    severity: 'high',
    patch: [
      { op: 'replace', path: '/description', value: 'x' },
      { op: 'replace', path: '/attributes/password', value: 'fingerprint:…' },
    ],
    requestId: null,
  },
};

describe('alerts as chat custom notifications', () => {
  it('carries title with severity, the diff summary, next steps and a thread per resource', () => {
    const n = chatNotification(drift, '[sdim-guard] Drift Detected: acme / ServiceNow Prod');
    expect(n).toMatchObject({ version: '1.0', source: 'custom', id: 'acme:drift:1' });
    expect(n.content.textType).toBe('client-markdown');
    expect(n.content.title).toBe(':red_circle: Drift Detected: acme / ServiceNow Prod (high)');
    expect(n.content.description).toContain('Drift Detected in acme: modified integration "ServiceNow Prod" (abc123), severity high');
    expect(n.content.description).toContain('• `replace` `/description`\n• `replace` `/attributes/password`');
    expect(n.content.description).not.toContain('fingerprint');
    expect(n.content.nextSteps[0]).toBe('Review it: `sdim-guard diff --tenant acme --integration abc123`');
    expect(n.content.keywords).toEqual(['sdim-guard', 'acme', 'Drift Detected', 'high']);
    expect(n.metadata).toMatchObject({
      threadId: 'sdim-guard:acme:abc123',
      eventType: 'Drift Detected',
      relatedResources: ['abc123'],
      additionalContext: { tenant: 'acme', resource: 'ServiceNow Prod', eventId: 'acme:drift:1' },
    });
  });

  it('summarises at most ten operations and says when the diff was cut', () => {
    const patch = Array.from({ length: 13 }, (_, i) => ({ op: 'replace', path: `/attributes/a${i}` }));
    expect(diffSummary(patch).split('\n')).toHaveLength(11);
    expect(diffSummary(patch)).toContain('… and 3 more');
    expect(diffSummary(undefined, true)).toBe('The diff was too large for an alert.');
    expect(diffSummary([])).toBe('');
  });

  it('reports a failed snapshot with its error and a high severity', () => {
    const failed: GuardEvent = {
      type: 'Snapshot Failed',
      tenant: 'acme',
      time: drift.time,
      id: 'f1',
      detail: { error: 'ISC answered 403' },
    };
    const n = chatNotification(failed, '[sdim-guard] Snapshot Failed: acme');
    expect(n.content.title).toBe(':red_circle: Snapshot Failed: acme (high)');
    expect(n.content.description).toContain('*Error*\nISC answered 403');
    expect(n.metadata.threadId).toBe('sdim-guard:acme:Snapshot Failed');
  });

  it('publishes e-mail text and the chat notification in one SNS message, per protocol', async () => {
    const sns = mockClient(SNSClient);
    const events = mockClient(EventBridgeClient);
    sns.on(PublishCommand).resolves({ MessageId: 'm' });
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e' }] });
    await new AwsNotifier(
      new EventBridgeClient({ region: 'eu-west-1' }),
      'bus',
      new SNSClient({ region: 'eu-west-1' }),
      'arn:topic',
    ).publish(drift);
    const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(input?.MessageStructure).toBe('json');
    const message = JSON.parse(input?.Message ?? '{}') as { default: string; https: string; email: string };
    expect(JSON.parse(message.https)).toMatchObject({ version: '1.0', source: 'custom' });
    expect(message.default).toBe(message.https);
    expect(message.email).toMatch(/^Drift Detected in acme: modified integration "ServiceNow Prod"/);

    const huge: GuardEvent = {
      ...drift,
      detail: { ...drift.detail, reason: '"'.repeat(120_000) },
    };
    sns.resetHistory();
    await new AwsNotifier(
      new EventBridgeClient({ region: 'eu-west-1' }),
      'bus',
      new SNSClient({ region: 'eu-west-1' }),
      'arn:topic',
    ).publish(huge);
    const big = sns.commandCalls(PublishCommand)[0]?.args[0].input.Message ?? '';
    expect(Buffer.byteLength(big)).toBeLessThan(256 * 1024);
    expect(JSON.parse(big).email).toContain('too large for e-mail');
    sns.restore();
    events.restore();
  });
});
