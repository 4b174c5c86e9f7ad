import type { EventDocument, SearchRequest } from '../isc/schemas';

export interface EventSearchQuery {
  readonly body: SearchRequest;
  readonly offset?: number;
  /** At most 10,000. @default 10_000 */
  readonly limit?: number;
  readonly count?: boolean;
}

export interface EventSearchPage {
  readonly items: EventDocument[];
  /** X-Total-Count, when `count` was asked for. */
  readonly total: number | undefined;
}

/** ISC's search API on the `events` index: who did what, as ISC's audit trail records it. */
export interface AuditEventSearch {
  searchEvents(query: EventSearchQuery): Promise<EventSearchPage>;
}
