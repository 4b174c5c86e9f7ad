import type { ErrorObject } from 'ajv';
import type { VALIDATED_SCHEMAS } from './openapi/ajv';
import type { components } from './openapi/isc-sdim';
import * as generated from './openapi/validators.generated';

export type Schemas = components['schemas'];
export type ServiceDeskIntegration = Schemas['ServiceDeskIntegrationDto'];
export type StatusCheckConfig = Schemas['QueuedCheckConfigDetails'];
export type JsonPatchOperation = Schemas['JsonPatchOperation'];
export type IntegrationType = Schemas['ServiceDeskIntegrationTemplateType'];
export type IntegrationTemplate = Schemas['ServiceDeskIntegrationTemplateDto'];
export type ErrorResponse = Schemas['ErrorResponseDto'];
export type SearchRequest = Schemas['SearchRequest'];
export type EventDocument = Schemas['EventDocument'];

/** The schemas request bodies are checked against; their validators are generated ahead of time (openapi/ajv.ts). */
export type SchemaName = (typeof VALIDATED_SCHEMAS)[number];

interface GeneratedValidator {
  (value: unknown): boolean;
  errors?: ErrorObject[] | null;
}

const validators = generated as unknown as Record<SchemaName, GeneratedValidator>;

/** "attributes: must be object; name: is required" — names the field, never echoes its value (it may be a secret). */
export function describeErrors(errors: ErrorObject[] | null | undefined): string {
  if (!errors?.length) return 'invalid';
  return errors
    .map((e) => {
      const where = e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : '';
      if (e.keyword === 'required') {
        const missing = (e.params as { missingProperty: string }).missingProperty;
        return `${where ? `${where}.` : ''}${missing}: is required`;
      }
      return `${where || '(body)'}: ${e.message ?? 'is invalid'}`;
    })
    .join('; ');
}

/** Validates `value` against a schema of the ISC description; returns the problems, or null when valid. */
export function schemaProblems(name: SchemaName, value: unknown): string | null {
  const validate = validators[name];
  return validate(value) ? null : describeErrors(validate.errors);
}
