import type { IntegrationTemplate, IntegrationType, JsonPatchOperation, ServiceDeskIntegration, StatusCheckConfig } from '../isc/schemas';

export interface IntegrationPageQuery {
  readonly offset?: number;
  /** At most 250. */
  readonly limit?: number;
  readonly filters?: string;
  readonly sorters?: string;
  readonly count?: boolean;
}

export interface IntegrationPage {
  readonly items: ServiceDeskIntegration[];
  /** X-Total-Count, when `count` was asked for and ISC sent it. */
  readonly total: number | undefined;
}

export interface IntegrationListing {
  readonly items: ServiceDeskIntegration[];
  readonly total: number;
  /** Listing attempts needed to get one consistent view (1 when nothing moved while paging). */
  readonly attempts: number;
}

/** The ten service-desk-integration operations of ISC, plus a consistent full listing. */
export interface IscClient {
  listIntegrations(query?: IntegrationPageQuery): Promise<IntegrationPage>;
  /**
   * Every integration, from pages that agree with each other; throws InconsistentListingError otherwise.
   * `expectedTotal` (e.g. the last snapshot's count, or a promise of it) lets every page be requested at once instead
   * of after the first. `onPage` sees each page's items, with the page's offset, as they arrive (of every attempt; the
   * result is what counts).
   */
  listAllIntegrations(options?: {
    expectedTotal?: number | Promise<number | undefined>;
    onPage?: (items: readonly ServiceDeskIntegration[], offset: number) => void;
  }): Promise<IntegrationListing>;
  getIntegration(id: string): Promise<ServiceDeskIntegration>;
  createIntegration(integration: ServiceDeskIntegration): Promise<ServiceDeskIntegration>;
  replaceIntegration(id: string, integration: ServiceDeskIntegration): Promise<ServiceDeskIntegration>;
  /** Only `replace` operations are accepted by ISC; others are refused before any request. */
  patchIntegration(id: string, operations: JsonPatchOperation[]): Promise<ServiceDeskIntegration>;
  deleteIntegration(id: string): Promise<void>;
  getIntegrationTypes(): Promise<IntegrationType[]>;
  getIntegrationTemplate(scriptName: string): Promise<IntegrationTemplate>;
  getStatusCheckConfig(): Promise<StatusCheckConfig>;
  setStatusCheckConfig(config: StatusCheckConfig): Promise<StatusCheckConfig>;
  /** HTTP requests sent to ISC so far, token requests and retries included. */
  requestCount(): number;
}
