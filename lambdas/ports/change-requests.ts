import type { ChangeRequest, RequestStatus } from '../domain/change-request';
import type { AppliedChange } from '../domain/classify';
import type { SecretValues } from '../domain/payload-secrets';

export interface ChangeRequestStore {
  /** Fails if the id exists. */
  create(request: ChangeRequest): Promise<void>;
  get(id: string): Promise<ChangeRequest | undefined>;
  /** Writes `next` only if the stored revision is still `next.revision - 1`; returns false if someone else wrote first. */
  save(next: ChangeRequest): Promise<boolean>;
  /** `save`, plus the applied-change ledger entry the next snapshot uses, in one transaction. */
  saveApplied(next: ChangeRequest, applied: AppliedChange): Promise<boolean>;
  list(filter?: { tenant?: string; status?: RequestStatus }): Promise<ChangeRequest[]>;
}

/** Where credentials in a request's payload wait until it is applied (never in the request record). */
export interface RequestSecretVault {
  stash(requestId: string, values: SecretValues): Promise<void>;
  load(requestId: string): Promise<SecretValues>;
  discard(requestId: string): Promise<void>;
}

export interface ChangeMessage {
  readonly requestId: string;
  readonly tenant: string;
  readonly resourceKey: string;
  /** Set when the sweeper sends a request again: a new deduplication id, so SQS does not drop it as a repeat. */
  readonly resend?: string;
}

/** SQS FIFO in AWS (group = tenant + resource, deduplication id = request id); an in-process queue locally. */
export interface ChangeQueue {
  enqueue(message: ChangeMessage): Promise<void>;
}
