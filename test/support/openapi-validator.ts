import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Ajv from 'ajv';
import { createOpenApiAjv, describeErrors, iscOpenApiDocument } from '../../lambdas/isc/schemas';

type Json = Record<string, unknown>;

/**
 * Checks an HTTP answer against an OpenAPI document: the status must be documented for the operation, and the body
 * must match that status's schema. Used with the project's own document and, where present, SailPoint's official one.
 */
export class OpenApiResponseValidator {
  private readonly ajv: Ajv;
  private readonly routes: Array<{ template: string; pattern: RegExp }>;

  constructor(
    private readonly document: Json,
    private readonly id: string,
  ) {
    this.ajv = createOpenApiAjv(document, id);
    // Literal segments first, as ISC routes them, so /types never matches /{id}.
    this.routes = Object.keys(document.paths as Json)
      .sort((a, b) => (a.includes('{') ? 1 : 0) - (b.includes('{') ? 1 : 0))
      .map((template) => ({ template, pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`) }));
  }

  /** Problems with this answer, or [] when it conforms. `path` is relative to the API version root. */
  problems(method: string, path: string, status: number, body: unknown): string[] {
    const route = this.routes.find((r) => r.pattern.test(path));
    if (!route) return [`${path} is not in the document`];
    const operation = ((this.document.paths as Json)[route.template] as Json)[method.toLowerCase()] as Json | undefined;
    if (!operation) return [`${method} ${route.template} is not in the document`];
    const responses = operation.responses as Json;
    let response = responses[String(status)] as Json | undefined;
    if (!response) return [`${method} ${route.template} does not document status ${status}`];
    let pointer = `/paths/${escapePointer(route.template)}/${method.toLowerCase()}/responses/${status}`;
    if (typeof response.$ref === 'string') {
      pointer = response.$ref.slice(1);
      response = resolve(this.document, pointer) as Json;
    }
    const content = response.content as Json | undefined;
    if (!content) return body === undefined || body === '' ? [] : [`status ${status} documents no body, got one`];
    const mediaType = Object.keys(content)[0] as string;
    const validate = this.ajv.getSchema(`${this.id}#${pointer}/content/${escapePointer(mediaType)}/schema`);
    if (!validate) return [`cannot compile the schema at ${pointer}`];
    return validate(body) ? [] : [`${method} ${route.template} ${status}: ${describeErrors(validate.errors)}`];
  }
}

function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

function resolve(document: Json, pointer: string): unknown {
  return pointer
    .split('/')
    .slice(1)
    .reduce<unknown>((node, part) => (node as Json)[part.replaceAll('~1', '/').replaceAll('~0', '~')], document);
}

export function projectValidator(): OpenApiResponseValidator {
  return new OpenApiResponseValidator(iscOpenApiDocument as unknown as Json, 'project-doc');
}

/** SailPoint's official excerpts live beside the repository in CI (../shared); a user's clone does not have them. */
export function officialValidators(): Array<{ version: string; validator: OpenApiResponseValidator }> {
  const dir = join(__dirname, '..', '..', '..', 'shared', 'isc-api');
  return ['v3', 'v2024']
    .map((version) => ({ version, file: join(dir, `sdim-${version}.openapi.json`) }))
    .filter(({ file }) => existsSync(file))
    .map(({ version, file }) => ({
      version,
      validator: new OpenApiResponseValidator(JSON.parse(readFileSync(file, 'utf8')) as Json, `official-${version}`),
    }));
}
