/** EventBridge detail types; also the SNS subject prefix and the JSONL `type` locally. */
export type GuardEventType =
  | 'Drift Detected'
  | 'Drift Acceptance Expired'
  | 'Drift Attributed'
  | 'Snapshot Failed'
  | 'Snapshot Warning'
  | 'Change Applied'
  | 'Change Conflict'
  | 'Change Failed'
  | 'Change Refused';

export interface GuardEvent {
  readonly type: GuardEventType;
  readonly tenant: string;
  readonly time: string;
  /** Unique per event, so a redelivered alert can be recognised downstream. */
  readonly id: string;
  /** Secrets already fingerprinted: nothing here may hold a credential. */
  readonly detail: Record<string, unknown>;
}

export interface Notifier {
  /** Resolves once the event is durably handed over; throws if it could not be, so the caller keeps it pending. */
  publish(event: GuardEvent): Promise<void>;
}

/** One readable line for a person: what happened, where, how bad. */
export function describeEvent(event: GuardEvent): string {
  const d = event.detail as {
    resource?: { kind: string; name: string; id: string };
    change?: string;
    severity?: string;
    error?: string;
    message?: string;
    by?: string;
  };
  if (d.resource) {
    return `${event.type} in ${event.tenant}: ${d.change ?? ''} ${d.resource.kind} "${d.resource.name}" (${d.resource.id})${d.severity ? `, severity ${d.severity}` : ''}${d.by ? `, by ${d.by}` : ''}`;
  }
  const text = d.error ?? d.message;
  return `${event.type} in ${event.tenant}${text ? `: ${text}` : ''}`;
}
