import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Ajv from 'ajv';
import { createOpenApiAjv, iscOpenApiDocument } from '../../lambdas/isc/openapi/ajv';
import { describeErrors } from '../../lambdas/isc/schemas';

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
    readonly id: string,
    /** Where the document's paths start below the tenant root (`/v3` for the v3 excerpt; '' for per-service ones). */
    private readonly basePath = '',
    /** Paths served with the same contract as one of the document's, e.g. `/v3/search` for `/search/v1`. */
    private readonly aliases: Record<string, string> = {},
  ) {
    this.ajv = createOpenApiAjv(document, id);
    // Literal segments first, as ISC routes them, so /types never matches /{id}.
    this.routes = Object.keys(document.paths as Json)
      .sort((a, b) => a.split('{').length - b.split('{').length)
      .map((template) => ({ template, pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`) }));
  }

  private documentPath(path: string): string | undefined {
    const aliased = this.aliases[path] ?? path;
    if (!aliased.startsWith(`${this.basePath}/`)) return undefined;
    const relative = aliased.slice(this.basePath.length);
    return this.routes.some((r) => r.pattern.test(relative)) ? relative : undefined;
  }

  /** Whether this document describes `path` (from the tenant root) at all. */
  covers(path: string): boolean {
    return this.documentPath(path) !== undefined;
  }

  /** Problems with this answer, or [] when it conforms. `path` is from the tenant root, e.g. `/service-desk-integrations/v1/x`. */
  problems(method: string, fullPath: string, status: number, body: unknown): string[] {
    const path = this.documentPath(fullPath);
    const route = path === undefined ? undefined : this.routes.find((r) => r.pattern.test(path));
    if (!route) return [`${fullPath} is not in the document`];
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

const OFFICIAL_EXCERPTS = [
  { version: 'v1', file: 'sdim-v1.openapi.json', basePath: '' },
  { version: 'search-v1', file: 'search-v1.openapi.json', basePath: '', aliases: { '/v3/search': '/search/v1' } },
  { version: 'v3', file: 'sdim-v3.openapi.json', basePath: '/v3' },
  { version: 'v2024', file: 'sdim-v2024.openapi.json', basePath: '/v2024' },
];

/** SailPoint's official excerpts live beside the repository in CI (../shared); a user's clone does not have them. */
export function officialValidators(): Array<{ version: string; validator: OpenApiResponseValidator }> {
  const dir = join(__dirname, '..', '..', '..', 'shared', 'isc-api');
  return OFFICIAL_EXCERPTS.filter(({ file }) => existsSync(join(dir, file))).map(({ version, file, basePath, aliases }) => ({
    version,
    validator: new OpenApiResponseValidator(
      JSON.parse(readFileSync(join(dir, file), 'utf8')) as Json,
      `official-${version}`,
      basePath,
      aliases,
    ),
  }));
}

/** The project's document and every official excerpt that describes `path`: each one's problems with the answer. */
export function conformance(validators: readonly OpenApiResponseValidator[]) {
  return (method: string, path: string, status: number, body: unknown): Array<{ document: string; problems: string[] }> =>
    validators
      .filter((v, index) => index === 0 || v.covers(path))
      .map((v) => ({ document: v.id, problems: v.problems(method, path, status, body) }));
}
