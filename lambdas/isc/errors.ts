import { scrubText } from '../domain/secrets';

/**
 * Errors the ISC client raises. Each names the operation; none ever carries a credential or a request body: the
 * message (which may quote ISC's answer) goes through the secret policy's scrubber.
 */
export class IscError extends Error {
  constructor(
    readonly operation: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(scrubText(message), options);
    this.name = new.target.name;
  }
}

/** ISC answered with a non-success status (after any retries that status allows). */
export class IscApiError extends IscError {
  constructor(
    operation: string,
    readonly status: number,
    readonly trackingId: string | undefined,
    readonly detailCode: string | undefined,
    readonly detail: string | undefined,
  ) {
    super(
      operation,
      `ISC ${operation} failed with HTTP ${status}${detailCode ? ` (${detailCode})` : ''}${detail ? `: ${detail}` : ''}${trackingId ? ` [trackingId ${trackingId}]` : ''}`,
    );
  }

  get isNotFound(): boolean {
    return this.status === 404;
  }

  static async fromResponse(operation: string, response: Response): Promise<IscApiError> {
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      body = undefined;
    }
    const dto = (body ?? {}) as {
      trackingId?: unknown;
      detailCode?: unknown;
      messages?: Array<{ text?: unknown }>;
      error?: unknown;
      message?: unknown;
      error_description?: unknown;
    };
    const texts = Array.isArray(dto.messages) ? dto.messages.map((m) => m?.text).filter((t) => typeof t === 'string') : [];
    const detail =
      texts.join('; ') ||
      (typeof dto.error_description === 'string' ? dto.error_description : undefined) ||
      (typeof dto.error === 'string' ? dto.error : undefined) ||
      (typeof dto.message === 'string' ? dto.message.trim() : undefined);
    return new IscApiError(
      operation,
      response.status,
      typeof dto.trackingId === 'string' ? dto.trackingId : undefined,
      typeof dto.detailCode === 'string' ? dto.detailCode : undefined,
      detail || undefined,
    );
  }
}

/** ISC could not be reached, or kept failing with retryable errors until the retry budget ran out. */
export class IscUnavailableError extends IscError {}

/** Paging could not produce one consistent view of the collection: nothing built on it may be trusted. */
export class InconsistentListingError extends IscError {
  constructor(readonly reasons: string[]) {
    super(
      'getServiceDeskIntegrations',
      `the integration listing stayed inconsistent after ${reasons.length} attempts: ${reasons.join('; ')}`,
    );
  }
}
