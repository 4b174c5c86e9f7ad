import { randomBytes, randomUUID } from 'node:crypto';
import type { EventDocument } from '../../lambdas/isc/schemas';
import { EmulatorError } from './state';

/**
 * ISC's audit trail for service desk integrations, as the `events` search index serves it: one document per create,
 * update and delete, passed or failed, naming the identity behind the token. Searchable after an optional indexing
 * delay, with the subset of the SAILPOINT query syntax and of the Elasticsearch DSL that sdim-guard relies on.
 */

export type SdimOperation = 'CREATE' | 'UPDATE' | 'DELETE';

const PASSED_ACTIONS: Record<SdimOperation, string> = {
  CREATE: 'SERVICE_DESK_INTEGRATION_CREATED',
  UPDATE: 'SERVICE_DESK_INTEGRATION_UPDATED',
  DELETE: 'SERVICE_DESK_INTEGRATION_DELETED',
};
const WORDS: Record<SdimOperation, string> = { CREATE: 'Create', UPDATE: 'Update', DELETE: 'Delete' };

export interface RecordedAction {
  readonly operation: SdimOperation;
  readonly passed: boolean;
  readonly actor: string;
  /** The integration's id and name, when the request named an existing one (or created it). */
  readonly integration?: { readonly id: string; readonly name: string };
  readonly ipAddress?: string;
}

export const MAX_SEARCH_RESULTS = 10_000;

export class AuditLog {
  private readonly events: Array<{ readonly doc: EventDocument; visibleAt: number }> = [];

  constructor(
    private readonly now: () => number,
    /** Milliseconds between an action and its event being searchable. */
    public indexingDelayMs: number,
    private readonly org: string,
  ) {}

  record(action: RecordedAction): EventDocument {
    const at = this.now();
    const status = action.passed ? 'PASSED' : 'FAILED';
    const doc: EventDocument = {
      id: randomUUID().replaceAll('-', ''),
      name: `${WORDS[action.operation]} Service Desk Integration ${action.passed ? 'Passed' : 'Failed'}`,
      created: new Date(at).toISOString(),
      synced: new Date(at + this.indexingDelayMs).toISOString(),
      action: action.passed ? PASSED_ACTIONS[action.operation] : `SERVICE_DESK_INTEGRATION_${action.operation}_FAILED`,
      type: 'SOURCE_MANAGEMENT',
      actor: { name: action.actor },
      target: { name: action.integration?.name ?? '' },
      stack: 'sdim',
      trackingNumber: randomBytes(16).toString('hex'),
      ipAddress: action.ipAddress ?? '127.0.0.1',
      details: randomBytes(16).toString('hex'),
      attributes: action.integration ? { id: action.integration.id, name: action.integration.name } : {},
      objects: ['SERVICE', 'DESK', 'INTEGRATION'],
      operation: action.operation,
      status,
      technicalName: `SERVICE_DESK_INTEGRATION_${action.operation}_${status}`,
      pod: 'emulator',
      org: this.org,
      _type: 'event',
      _version: 'v7',
    };
    this.events.push({ doc, visibleAt: at + this.indexingDelayMs });
    return doc;
  }

  /** Every recorded event, indexed or not (for tests). */
  all(): EventDocument[] {
    return this.events.map((e) => structuredClone(e.doc));
  }

  /** Makes every recorded event searchable now, as if indexing had caught up. */
  indexPending(): void {
    for (const event of this.events) event.visibleAt = Math.min(event.visibleAt, this.now());
  }

  search(body: unknown, paging: { offset: number; limit: number }): { items: EventDocument[]; total: number } {
    const request = parseSearchRequest(body);
    const now = this.now();
    let hits = this.events.filter((e) => e.visibleAt <= now && request.matches(e.doc)).map((e) => e.doc);
    if (request.sort.length > 0) hits = [...hits].sort((a, b) => compareBy(request.sort, a, b));
    if (request.searchAfter) {
      const after = request.searchAfter;
      hits = hits.filter((doc) => compareToValues(request.sort, doc, after) > 0);
    }
    if (paging.offset + paging.limit > MAX_SEARCH_RESULTS && !request.searchAfter) {
      throw new EmulatorError(400, `offset + limit must not exceed ${MAX_SEARCH_RESULTS}; page further with searchAfter.`);
    }
    return { items: hits.slice(paging.offset, paging.offset + paging.limit).map((d) => structuredClone(d)), total: hits.length };
  }
}

type Doc = Record<string, unknown>;
type Matcher = (doc: Doc) => boolean;
interface SortKey {
  readonly field: string;
  readonly direction: 1 | -1;
}

function unsupported(what: string): never {
  throw new EmulatorError(400, `${what} is not supported by the emulator's search.`);
}

function parseSearchRequest(body: unknown): { matches: Matcher; sort: SortKey[]; searchAfter?: unknown[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new EmulatorError(400, 'The request body must be a JSON object.');
  const request = body as Record<string, unknown>;
  const known = new Set(['indices', 'queryType', 'queryVersion', 'query', 'queryDsl', 'sort', 'searchAfter', 'includeNested']);
  for (const key of Object.keys(request)) if (!known.has(key)) unsupported(`'${key}'`);
  const indices = request.indices;
  if (!Array.isArray(indices) || indices.length !== 1 || indices[0] !== 'events')
    unsupported(`indices ${JSON.stringify(indices)} (only ["events"])`);
  const queryType = request.queryType ?? 'SAILPOINT';
  let matches: Matcher;
  if (queryType === 'DSL') {
    if (typeof request.queryDsl !== 'object' || request.queryDsl === null)
      throw new EmulatorError(400, 'queryType DSL needs a queryDsl object.');
    matches = parseDsl(request.queryDsl);
  } else if (queryType === 'SAILPOINT') {
    const query = (request.query as { query?: unknown } | undefined)?.query;
    if (typeof query !== 'string') throw new EmulatorError(400, 'queryType SAILPOINT needs query.query, a string.');
    matches = parseQueryString(query);
  } else {
    unsupported(`queryType '${String(queryType)}'`);
  }
  const sortRaw = request.sort ?? [];
  if (!Array.isArray(sortRaw) || !sortRaw.every((s) => typeof s === 'string' && s.replace(/^[+-]/, '') !== '')) {
    throw new EmulatorError(400, 'sort must be a list of field names, each optionally prefixed with + or -.');
  }
  const sort = (sortRaw as string[]).map((s) => ({ field: s.replace(/^[+-]/, ''), direction: s.startsWith('-') ? -1 : 1 }) as SortKey);
  let searchAfter: unknown[] | undefined;
  if (request.searchAfter !== undefined) {
    if (!Array.isArray(request.searchAfter)) throw new EmulatorError(400, 'searchAfter must be a list.');
    if (request.searchAfter.length !== sort.length || sort.length === 0) {
      throw new EmulatorError(400, 'searchAfter needs one value per sort field.');
    }
    searchAfter = request.searchAfter;
  }
  return { matches, sort, searchAfter };
}

function fieldValues(doc: Doc, path: string): unknown[] {
  let nodes: unknown[] = [doc];
  for (const part of path.split('.')) {
    nodes = nodes.flatMap((n) => {
      const value = n && typeof n === 'object' ? (n as Doc)[part] : undefined;
      return Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
    });
  }
  return nodes;
}

function allStrings(doc: unknown): string[] {
  if (typeof doc === 'string') return [doc];
  if (typeof doc === 'number' || typeof doc === 'boolean') return [String(doc)];
  if (Array.isArray(doc)) return doc.flatMap(allStrings);
  if (doc && typeof doc === 'object') return Object.values(doc).flatMap(allStrings);
  return [];
}

const lower = (v: unknown) => String(v).toLowerCase();
/** Analysed text: a value matches if it equals the field or is one of its words, case-insensitively. */
function textMatches(value: unknown, query: string): boolean {
  const field = lower(value);
  const q = query.toLowerCase();
  return field === q || field.split(/[^a-z0-9_@.-]+/).includes(q);
}

function compareScalars(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = String(a ?? '');
  const sb = String(b ?? '');
  const da = Date.parse(sa);
  const db = Date.parse(sb);
  if (/^\d{4}-\d\d-\d\d/.test(sa) && /^\d{4}-\d\d-\d\d/.test(sb) && !Number.isNaN(da) && !Number.isNaN(db)) return da - db;
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function compareBy(sort: SortKey[], a: Doc, b: Doc): number {
  for (const key of sort) {
    const diff = compareScalars(fieldValues(a, key.field)[0], fieldValues(b, key.field)[0]);
    if (diff !== 0) return key.direction * diff;
  }
  return 0;
}

function compareToValues(sort: SortKey[], doc: Doc, values: unknown[]): number {
  for (const [i, key] of sort.entries()) {
    const diff = compareScalars(fieldValues(doc, key.field)[0], values[i]);
    if (diff !== 0) return key.direction * diff;
  }
  return 0;
}

function rangeMatcher(field: string, bounds: Record<string, unknown>): Matcher {
  const checks: Array<(v: unknown) => boolean> = [];
  for (const [op, bound] of Object.entries(bounds)) {
    if (typeof bound !== 'string' && typeof bound !== 'number') unsupported(`range bound ${op} of type ${typeof bound}`);
    if (typeof bound === 'string' && /^now/.test(bound)) unsupported('date math in range');
    if (op === 'gt') checks.push((v) => compareScalars(v, bound) > 0);
    else if (op === 'gte') checks.push((v) => compareScalars(v, bound) >= 0);
    else if (op === 'lt') checks.push((v) => compareScalars(v, bound) < 0);
    else if (op === 'lte') checks.push((v) => compareScalars(v, bound) <= 0);
    else unsupported(`range option '${op}'`);
  }
  if (checks.length === 0) throw new EmulatorError(400, `range on ${field} needs gt, gte, lt or lte.`);
  return (doc) => fieldValues(doc, field).some((v) => checks.every((check) => check(v)));
}

function single(node: unknown, what: string): [string, unknown] {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) throw new EmulatorError(400, `${what} must be an object.`);
  const entries = Object.entries(node);
  if (entries.length !== 1) throw new EmulatorError(400, `${what} must name exactly one field.`);
  return entries[0] as [string, unknown];
}

function parseDsl(node: unknown): Matcher {
  const [kind, spec] = single(node, 'a query clause');
  switch (kind) {
    case 'match_all':
      return () => true;
    case 'match': {
      const [field, raw] = single(spec, 'match');
      const value = raw && typeof raw === 'object' ? (raw as { query?: unknown }).query : raw;
      if (typeof value !== 'string' && typeof value !== 'number') throw new EmulatorError(400, `match on ${field} needs a value.`);
      return (doc) => fieldValues(doc, field).some((v) => textMatches(v, String(value)));
    }
    case 'term': {
      const [field, raw] = single(spec, 'term');
      const value = raw && typeof raw === 'object' ? (raw as { value?: unknown }).value : raw;
      if (value === undefined || (typeof value === 'object' && value !== null))
        throw new EmulatorError(400, `term on ${field} needs a value.`);
      return (doc) => fieldValues(doc, field).some((v) => v === value);
    }
    case 'terms': {
      const [field, values] = single(spec, 'terms');
      if (!Array.isArray(values)) throw new EmulatorError(400, `terms on ${field} needs a list of values.`);
      return (doc) => fieldValues(doc, field).some((v) => values.includes(v));
    }
    case 'range': {
      const [field, bounds] = single(spec, 'range');
      if (typeof bounds !== 'object' || bounds === null) throw new EmulatorError(400, `range on ${field} needs bounds.`);
      return rangeMatcher(field, bounds as Record<string, unknown>);
    }
    case 'bool': {
      if (typeof spec !== 'object' || spec === null) throw new EmulatorError(400, 'bool must be an object.');
      const clauses = (name: string): Matcher[] => {
        const value = (spec as Record<string, unknown>)[name];
        if (value === undefined) return [];
        return (Array.isArray(value) ? value : [value]).map(parseDsl);
      };
      for (const key of Object.keys(spec)) {
        if (!['must', 'filter', 'should', 'must_not', 'minimum_should_match'].includes(key)) unsupported(`bool option '${key}'`);
      }
      const must = [...clauses('must'), ...clauses('filter')];
      const should = clauses('should');
      const mustNot = clauses('must_not');
      const minimum =
        (spec as { minimum_should_match?: unknown }).minimum_should_match ?? (must.length > 0 ? 0 : should.length > 0 ? 1 : 0);
      if (typeof minimum !== 'number') unsupported('a non-numeric minimum_should_match');
      return (doc) =>
        must.every((m) => m(doc)) && !mustNot.some((m) => m(doc)) && should.filter((m) => m(doc)).length >= (minimum as number);
    }
    default:
      return unsupported(`the DSL query '${kind}'`);
  }
}

/**
 * The SAILPOINT (Lucene query string) subset: `field:value`, `field:"a phrase"`, `field:(a OR b)`,
 * `field:[from TO to]` / `{from TO to}` (`*` for open), `AND` / `OR` / `NOT` (also `&&`, `||`, `!`), parentheses, `*`
 * for everything, and bare words matched against every field. Implicit operator between terms: OR.
 */
export function parseQueryString(input: string): Matcher {
  const tokens = tokenizeQuery(input);
  let pos = 0;
  const peek = () => tokens[pos];
  const isOp = (op: string) => {
    const token = peek();
    return token?.t === 'op' && token.v === op;
  };
  const parseOr = (): Matcher => {
    const parts = [parseAnd()];
    while (pos < tokens.length && peek()?.t !== ')') {
      if (isOp('OR')) pos++;
      parts.push(parseAnd());
    }
    return parts.length === 1 ? (parts[0] as Matcher) : (doc) => parts.some((p) => p(doc));
  };
  const parseAnd = (): Matcher => {
    const parts = [parseNot()];
    while (isOp('AND')) {
      pos++;
      parts.push(parseNot());
    }
    return parts.length === 1 ? (parts[0] as Matcher) : (doc) => parts.every((p) => p(doc));
  };
  const parseNot = (): Matcher => {
    if (isOp('NOT')) {
      pos++;
      const inner = parseNot();
      return (doc) => !inner(doc);
    }
    return parsePrimary(undefined);
  };
  const parsePrimary = (field: string | undefined): Matcher => {
    const token = peek();
    if (!token) throw new EmulatorError(400, `Invalid query: '${input}' ends too early.`);
    pos++;
    if (token.t === '(') {
      const inner = field === undefined ? parseOr() : parseFieldGroup(field);
      if (peek()?.t !== ')') throw new EmulatorError(400, `Invalid query: missing ')' in '${input}'.`);
      pos++;
      return inner;
    }
    if (token.t === 'range') {
      if (field === undefined) throw new EmulatorError(400, 'Invalid query: a range needs a field.');
      const bounds: Record<string, string> = {};
      if (token.from !== '*') bounds[token.inclusive ? 'gte' : 'gt'] = token.from;
      if (token.to !== '*') bounds[token.inclusive ? 'lte' : 'lt'] = token.to;
      return Object.keys(bounds).length === 0 ? (doc) => fieldValues(doc, field).length > 0 : rangeMatcher(field, bounds);
    }
    if (token.t === 'field') return parsePrimary(token.v);
    if (token.t === 'term' || token.t === 'phrase') return termMatcher(field, token.v, token.t === 'phrase');
    throw new EmulatorError(400, `Invalid query: unexpected '${token.t === 'op' ? token.v : token.t}' in '${input}'.`);
  };
  const parseFieldGroup = (field: string): Matcher => {
    const parts: Matcher[] = [];
    let conjunction: 'AND' | 'OR' = 'OR';
    while (pos < tokens.length && peek()?.t !== ')') {
      if (isOp('OR') || isOp('AND')) {
        conjunction = isOp('AND') ? 'AND' : 'OR';
        pos++;
        continue;
      }
      parts.push(parsePrimary(field));
    }
    return conjunction === 'AND' ? (doc) => parts.every((p) => p(doc)) : (doc) => parts.some((p) => p(doc));
  };
  if (tokens.length === 0) throw new EmulatorError(400, 'Invalid query: it is empty.');
  const matcher = parseOr();
  if (pos < tokens.length) throw new EmulatorError(400, `Invalid query: unexpected ')' in '${input}'.`);
  return matcher;
}

function termMatcher(field: string | undefined, value: string, phrase: boolean): Matcher {
  if (value === '*') return field === undefined ? () => true : (doc) => fieldValues(doc, field).length > 0;
  if (!phrase && /[*?]/.test(value)) {
    const pattern = new RegExp(
      `^${value
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replaceAll('*', '.*')
        .replaceAll('?', '.')}$`,
      'i',
    );
    return (doc) => (field === undefined ? allStrings(doc) : fieldValues(doc, field)).some((v) => pattern.test(String(v)));
  }
  const test = phrase
    ? (v: unknown) => lower(v) === value.toLowerCase() || lower(v).includes(value.toLowerCase())
    : (v: unknown) => textMatches(v, value);
  return (doc) => (field === undefined ? allStrings(doc) : fieldValues(doc, field)).some(test);
}

type QueryToken =
  | { t: 'op'; v: 'AND' | 'OR' | 'NOT' }
  | { t: '(' | ')' }
  | { t: 'field'; v: string }
  | { t: 'term' | 'phrase'; v: string }
  | { t: 'range'; from: string; to: string; inclusive: boolean };

function tokenizeQuery(input: string): QueryToken[] {
  const tokens: QueryToken[] = [];
  let i = 0;
  while (i < input.length) {
    const rest = input.slice(i);
    const c = input[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '(' || c === ')') {
      tokens.push({ t: c });
      i++;
      continue;
    }
    const op = /^(AND|OR|NOT|&&|\|\||!)(?=[\s(]|$)/.exec(rest) ?? /^!/.exec(rest);
    if (op) {
      const v = op[0] === '&&' ? 'AND' : op[0] === '||' ? 'OR' : op[0] === '!' ? 'NOT' : (op[0] as 'AND' | 'OR' | 'NOT');
      tokens.push({ t: 'op', v });
      i += op[0].length;
      continue;
    }
    if (c === '"') {
      const end = findClosingQuote(input, i + 1);
      tokens.push({ t: 'phrase', v: input.slice(i + 1, end).replace(/\\(["\\])/g, '$1') });
      i = end + 1;
      continue;
    }
    if (c === '[' || c === '{') {
      const range = /^[[{]\s*("[^"]*"|\S+)\s+TO\s+("[^"]*"|[^\]}\s]+)\s*([\]}])/.exec(rest);
      if (!range) throw new EmulatorError(400, `Invalid query: a range must read [from TO to], in '${input}'.`);
      const unquote = (s: string) => s.replace(/^"(.*)"$/, '$1');
      if ((c === '[') !== (range[3] === ']')) unsupported('a range with one inclusive and one exclusive end');
      tokens.push({ t: 'range', from: unquote(range[1] as string), to: unquote(range[2] as string), inclusive: c === '[' });
      i += range[0].length;
      continue;
    }
    const field = /^([A-Za-z_@][A-Za-z0-9_.@]*):/.exec(rest);
    if (field) {
      tokens.push({ t: 'field', v: field[1] as string });
      i += field[0].length;
      continue;
    }
    if (c === ':' || c === '^' || c === '~' || c === '/') unsupported(`'${c}' in a query`);
    const word = /^(?:\\.|[^\s():"[\]{}])+/.exec(rest);
    if (!word) throw new EmulatorError(400, `Invalid query: unexpected '${c}' in '${input}'.`);
    tokens.push({ t: 'term', v: word[0].replace(/\\(.)/g, '$1') });
    i += word[0].length;
  }
  return tokens;
}

function findClosingQuote(input: string, from: number): number {
  for (let i = from; i < input.length; i++) {
    if (input[i] === '\\') i++;
    else if (input[i] === '"') return i;
  }
  throw new EmulatorError(400, `Invalid query: unterminated phrase in '${input}'.`);
}
