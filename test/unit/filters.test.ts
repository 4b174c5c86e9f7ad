import { FilterError, matchesFilter, parseFilter } from '../../local/emulator/filters';

const record = { id: 'abc', name: 'ServiceNow Prod', type: 'ServiceNowSDIM', cluster: 'c1' };
const matches = (filter: string, r = record) => matchesFilter(parseFilter(filter), r);

describe('the ISC filter grammar', () => {
  it.each([
    ['name eq "servicenow prod"', true],
    ['id in ("x","abc")', true],
    ['type eq "Zendesk SDIM"', false],
    ['not type eq "Zendesk SDIM"', true],
    ['not not type eq "Zendesk SDIM"', false],
    // not > and > or: this reads (name eq "x" and id eq "abc") or cluster eq "c1"
    ['name eq "x" and id eq "abc" or cluster eq "c1"', true],
    ['name eq "x" and (id eq "abc" or cluster eq "c1")', false],
    ['cluster in ( "c2" , "c1" )', true],
  ])('evaluates %s as %s', (filter, expected) => {
    expect(matches(filter)).toBe(expected);
  });

  it('unescapes \\" and \\\\ inside strings', () => {
    expect(matches('name eq "say \\"hi\\" \\\\o/"', { ...record, name: 'say "hi" \\o/' })).toBe(true);
  });

  it('does not match a field that is absent', () => {
    expect(matches('cluster eq "c1"', { ...record, cluster: undefined as unknown as string })).toBe(false);
  });

  it.each([
    ['', /empty filter/],
    ['name EQ "x"', /operators are lowercase: use 'eq'/],
    ['name co "x"', /operator 'co' is not supported for field 'name'/],
    ['name foo "x"', /unknown operator 'foo'/],
    ['modified eq "x"', /not supported for field 'modified'/],
    ['name eq x', /double-quoted string/],
    ['name eq "x" extra', /unexpected input/],
    ['name eq "x\\n"', /invalid escape/],
    ['id in ("a" "b")', /expected '\)'/],
    ['name eq "x" ; drop', /unexpected character ';'/],
  ])('rejects %p', (filter, message) => {
    expect(() => parseFilter(filter)).toThrow(FilterError);
    expect(() => parseFilter(filter)).toThrow(message);
  });
});
