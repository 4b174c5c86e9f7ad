import { describeEvent, type GuardEvent, type GuardEventType } from '../../ports/notifier';

/**
 * An alert as an Amazon Q Developer in chat applications (formerly AWS Chatbot) custom notification, which it posts to
 * Slack and Microsoft Teams channels subscribed to the topic: a title with the severity, the description with a
 * summary of the diff, what to do next, and keywords and a thread per resource. Schema: version 1.0, source
 * "custom", content {textType, title, description, nextSteps, keywords}, metadata {threadId, summary, eventType,
 * relatedResources, additionalContext}.
 */
export interface ChatNotification {
  readonly version: '1.0';
  readonly source: 'custom';
  readonly id: string;
  readonly content: {
    readonly textType: 'client-markdown';
    readonly title: string;
    readonly description: string;
    readonly nextSteps: string[];
    readonly keywords: string[];
  };
  readonly metadata: {
    readonly threadId: string;
    readonly summary: string;
    readonly eventType: string;
    readonly relatedResources: string[];
    readonly additionalContext: Record<string, string>;
  };
}

const MARK: Record<string, string> = {
  critical: ':rotating_light:',
  high: ':red_circle:',
  medium: ':large_orange_diamond:',
  low: ':large_blue_circle:',
};
/** Chat clients cut long messages; the full patch is in the EventBridge event and `sdim-guard diff`. */
const MAX_DIFF_LINES = 10;

const NEXT_STEPS: Partial<Record<GuardEventType, (tenant: string, id: string) => string[]>> = {
  'Drift Detected': (tenant, id) => [
    `Review it: \`sdim-guard diff --tenant ${tenant} --integration ${id}\``,
    `If it was wanted, accept it: \`sdim-guard accept --tenant ${tenant} --keys integration:${id} --reason "…"\``,
    'If not, propose a revert and have it approved',
  ],
  'Drift Acceptance Expired': (tenant, id) => [`Review it again: \`sdim-guard diff --tenant ${tenant} --integration ${id}\``],
  'Snapshot Failed': () => ['Read the error; check the tenant credentials and ISC availability (docs/deploy.md, "Alarms")'],
  'Change Applied': () => ['Nothing to do: the approved change is live'],
  'Change Conflict': () => ['Nothing was written: the object changed after approval. Propose the change again against the live object'],
  'Change Failed': () => ['Read the error; the request is failed and needs a new proposal once the cause is fixed'],
  'Change Refused': () => ['Nothing was written: read why it was refused before proposing again'],
};

type Detail = {
  resource?: { kind?: string; name?: string; id?: string };
  severity?: string;
  patch?: Array<{ op?: string; path?: string }>;
  patchTruncated?: boolean;
  requestId?: string | null;
  error?: string;
};

/** One line per JSON Patch operation (op and path, never a value: values may be long or sensitive-looking). */
export function diffSummary(patch: Detail['patch'], truncated = false): string {
  if (!Array.isArray(patch) || patch.length === 0) return truncated ? 'The diff was too large for an alert.' : '';
  const lines = patch.slice(0, MAX_DIFF_LINES).map((p) => `• \`${p.op ?? '?'}\` \`${p.path ?? '?'}\``);
  if (patch.length > MAX_DIFF_LINES) lines.push(`• … and ${patch.length - MAX_DIFF_LINES} more`);
  return lines.join('\n');
}

export function chatNotification(event: GuardEvent, subject: string): ChatNotification {
  const d = event.detail as Detail;
  const severity = d.severity ?? (event.type === 'Snapshot Failed' || event.type === 'Change Failed' ? 'high' : undefined);
  const resourceId = d.resource?.id ?? '';
  const diff = diffSummary(d.patch, d.patchTruncated);
  const context: Record<string, string> = { tenant: event.tenant, eventId: event.id, time: event.time };
  if (d.resource?.name) context.resource = d.resource.name;
  if (d.requestId) context.requestId = d.requestId;
  return {
    version: '1.0',
    source: 'custom',
    id: event.id,
    content: {
      textType: 'client-markdown',
      title:
        `${severity ? `${MARK[severity] ?? ''} ` : ''}${subject.replace(/^\[sdim-guard\] /, '')}${severity ? ` (${severity})` : ''}`.trim(),
      description: [describeEvent(event), diff ? `*Diff*\n${diff}` : '', d.error ? `*Error*\n${d.error}` : ''].filter(Boolean).join('\n\n'),
      nextSteps: NEXT_STEPS[event.type]?.(event.tenant, resourceId) ?? [],
      keywords: ['sdim-guard', event.tenant, event.type, ...(severity ? [severity] : [])],
    },
    metadata: {
      // One thread per tenant and resource, so drift, acceptance and changes of one integration stay together.
      threadId: `sdim-guard:${event.tenant}:${resourceId || event.type}`,
      summary: subject,
      eventType: event.type,
      relatedResources: resourceId ? [resourceId] : [],
      additionalContext: context,
    },
  };
}
