import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { components } from './openapi/isc-sdim';
import openapi from './openapi/isc-sdim.openapi.json';

export type Schemas = components['schemas'];
export type ServiceDeskIntegration = Schemas['ServiceDeskIntegrationDto'];
export type StatusCheckConfig = Schemas['QueuedCheckConfigDetails'];
export type JsonPatchOperation = Schemas['JsonPatchOperation'];
export type IntegrationType = Schemas['ServiceDeskIntegrationTemplateType'];
export type IntegrationTemplate = Schemas['ServiceDeskIntegrationTemplateDto'];
export type ErrorResponse = Schemas['ErrorResponseDto'];
export type SearchRequest = Schemas['SearchRequest'];
export type EventDocument = Schemas['EventDocument'];

export type SchemaName = keyof typeof openapi.components.schemas;

const SCHEMA_DOC_ID = 'isc-sdim';

/** One Ajv for the whole process: compiling is the expensive part, so validators are built once and cached. */
function createAjv(document: object, id: string): Ajv {
  // strict:false because OpenAPI adds annotation keywords (readOnly, deprecated, example) Ajv does not know.
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('comma-separated', true);
  // The whole document is added so that any JSON pointer into it (a response schema, a component) can be compiled.
  ajv.addSchema({ ...document, $id: id });
  return ajv;
}

let sharedAjv: Ajv | undefined;
const cache = new Map<string, ValidateFunction>();

export function validatorFor(name: SchemaName): ValidateFunction {
  let validate = cache.get(name);
  if (!validate) {
    sharedAjv ??= createAjv(openapi, SCHEMA_DOC_ID);
    validate = sharedAjv.compile({ $ref: `${SCHEMA_DOC_ID}#/components/schemas/${name}` });
    cache.set(name, validate);
  }
  return validate;
}

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
  const validate = validatorFor(name);
  return validate(value) ? null : describeErrors(validate.errors);
}

export function isValid<N extends SchemaName>(name: N, value: unknown): value is Schemas[N] {
  return validatorFor(name)(value);
}

/** The project's own API description, for tests and tools that check responses against it. */
export const iscOpenApiDocument = openapi;
export { createAjv as createOpenApiAjv };
