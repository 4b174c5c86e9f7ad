/**
 * The ISC collection `filters` grammar, as far as service desk integrations support it:
 *   expr    := or
 *   or      := and ("or" and)*
 *   and     := not ("and" not)*
 *   not     := "not" not | primary
 *   primary := "(" expr ")" | field op value
 * Operators are lowercase; strings are double-quoted with `\"` and `\\` escapes; `in` takes ("a","b").
 * Anything outside the supported fields/operators is a 400, as on a real tenant.
 */

export type FilterField = 'id' | 'name' | 'type' | 'cluster';
export type FilterNode =
  | { kind: 'cmp'; field: FilterField; op: 'eq' | 'in'; values: string[] }
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; operand: FilterNode };

/** Fields SDIM listing can filter on, and the operators each accepts. */
export const SUPPORTED_FILTERS: Record<FilterField, ReadonlyArray<'eq' | 'in'>> = {
  id: ['eq', 'in'],
  name: ['eq'],
  type: ['eq', 'in'],
  cluster: ['eq', 'in'],
};

/** Operators of the general ISC grammar: recognised, so the error can say "not supported" rather than "malformed". */
const KNOWN_OPERATORS = new Set(['eq', 'ne', 'in', 'lt', 'le', 'gt', 'ge', 'co', 'sw', 'pr', 'isnull']);

export class FilterError extends Error {}

type Token = { t: 'str'; v: string } | { t: 'word'; v: string } | { t: '(' | ')' | ',' };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ t: c });
      i++;
    } else if (c === '"') {
      let value = '';
      i++;
      for (;;) {
        if (i >= input.length) throw new FilterError('unterminated string literal');
        const d = input[i] as string;
        if (d === '\\') {
          const next = input[i + 1];
          if (next !== '"' && next !== '\\') throw new FilterError(`invalid escape \\${next ?? ''} in string literal`);
          value += next;
          i += 2;
        } else if (d === '"') {
          i++;
          break;
        } else {
          value += d;
          i++;
        }
      }
      tokens.push({ t: 'str', v: value });
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(input.slice(i));
      if (!m) throw new FilterError(`unexpected character '${c}' at position ${i}`);
      tokens.push({ t: 'word', v: m[0] });
      i += m[0].length;
    }
  }
  return tokens;
}

export function parseFilter(input: string): FilterNode {
  const tokens = tokenize(input);
  let pos = 0;
  const peek = () => tokens[pos];
  const isWord = (w: string) => {
    const tok = peek();
    return tok?.t === 'word' && tok.v === w;
  };
  const expect = (t: '(' | ')' | ',') => {
    if (peek()?.t !== t) throw new FilterError(`expected '${t}' at token ${pos + 1}`);
    pos++;
  };

  const parseOr = (): FilterNode => {
    let left = parseAnd();
    while (isWord('or')) {
      pos++;
      left = { kind: 'or', left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): FilterNode => {
    let left = parseNot();
    while (isWord('and')) {
      pos++;
      left = { kind: 'and', left, right: parseNot() };
    }
    return left;
  };
  const parseNot = (): FilterNode => {
    if (isWord('not')) {
      pos++;
      return { kind: 'not', operand: parseNot() };
    }
    return parsePrimary();
  };
  const parseString = (): string => {
    const tok = peek();
    if (tok?.t !== 'str') throw new FilterError(`expected a double-quoted string at token ${pos + 1}`);
    pos++;
    return tok.v;
  };
  const parsePrimary = (): FilterNode => {
    const tok = peek();
    if (tok?.t === '(') {
      pos++;
      const inner = parseOr();
      expect(')');
      return inner;
    }
    if (tok?.t !== 'word') throw new FilterError(`expected a field name at token ${pos + 1}`);
    pos++;
    const field = tok.v;
    const opTok = peek();
    if (opTok?.t !== 'word') throw new FilterError(`expected an operator after '${field}'`);
    pos++;
    const op = opTok.v;
    if (!KNOWN_OPERATORS.has(op)) {
      throw new FilterError(
        KNOWN_OPERATORS.has(op.toLowerCase()) ? `operators are lowercase: use '${op.toLowerCase()}'` : `unknown operator '${op}'`,
      );
    }
    const allowed = SUPPORTED_FILTERS[field as FilterField] as ReadonlyArray<string> | undefined;
    if (!allowed) throw new FilterError(`filtering is not supported for field '${field}'`);
    if (!allowed.includes(op)) throw new FilterError(`operator '${op}' is not supported for field '${field}'`);
    if (op === 'in') {
      expect('(');
      const values = [parseString()];
      while (peek()?.t === ',') {
        pos++;
        values.push(parseString());
      }
      expect(')');
      return { kind: 'cmp', field: field as FilterField, op: 'in', values };
    }
    return { kind: 'cmp', field: field as FilterField, op: 'eq', values: [parseString()] };
  };

  if (tokens.length === 0) throw new FilterError('empty filter');
  const tree = parseOr();
  if (pos !== tokens.length) throw new FilterError(`unexpected input after token ${pos}`);
  return tree;
}

/** String comparisons are case-insensitive, as ISC's are for these fields. */
export function matchesFilter(node: FilterNode, record: Record<FilterField, string | null | undefined>): boolean {
  switch (node.kind) {
    case 'and':
      return matchesFilter(node.left, record) && matchesFilter(node.right, record);
    case 'or':
      return matchesFilter(node.left, record) || matchesFilter(node.right, record);
    case 'not':
      return !matchesFilter(node.operand, record);
    case 'cmp': {
      const actual = record[node.field];
      if (actual == null) return false;
      const lower = actual.toLowerCase();
      return node.values.some((v) => v.toLowerCase() === lower);
    }
  }
}
