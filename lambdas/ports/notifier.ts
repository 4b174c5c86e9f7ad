/** EventBridge detail types; also the SNS subject prefix and the JSONL `type` locally. */
export type GuardEventType =
  | 'Drift Detected'
  | 'Drift Acceptance Expired'
  | 'Snapshot Failed'
  | 'Change Applied'
  | 'Change Conflict'
  | 'Change Failed';

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
