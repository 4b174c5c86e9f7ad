import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import openapi from './isc-sdim.openapi.json';

/** The project's own ISC API description, for tests and tools that check requests and responses against it. */
export const iscOpenApiDocument = openapi;

/** The schema names request bodies are checked against in the Lambdas (validators generated ahead of time). */
export const VALIDATED_SCHEMAS = ['ServiceDeskIntegrationDto', 'JsonPatchOperation', 'QueuedCheckConfigDetails'] as const;

/**
 * An Ajv holding a whole OpenAPI document, so that any JSON pointer into it (a response schema, a component) can be
 * compiled. Formats are ajv-formats' (its `int32` included), the same the generated validators use.
 */
export function createOpenApiAjv(document: object, id: string, options: { source?: boolean } = {}): Ajv {
  // strict:false because OpenAPI adds annotation keywords (readOnly, deprecated, example) Ajv does not know.
  const ajv = new Ajv({ strict: false, allErrors: true, ...(options.source ? { code: { source: true, esm: true } } : {}) });
  addFormats(ajv);
  ajv.addFormat('comma-separated', true);
  ajv.addSchema({ ...document, $id: id });
  return ajv;
}
