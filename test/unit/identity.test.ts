import {
  type AccessConfig,
  DEFAULT_ACCESS,
  forbiddenReason,
  globMatches,
  identify,
  parseAccessConfig,
  samePerson,
} from '../../lambdas/domain/identity';

const acct = '111122223333';
const role = (name: string, session: string) => `arn:aws:sts::${acct}:assumed-role/${name}/${session}`;
const user = (name: string, path = '') => `arn:aws:iam::${acct}:user/${path}${name}`;
const same = (a: string, b: string, config: AccessConfig = DEFAULT_ACCESS) => samePerson(identify(a, config), identify(b, config));

describe('the identity model', () => {
  it('counts every session of an ordinary assumed role as one person, whatever the caller names the session', () => {
    expect(same(role('ChangeBoard', 'mallory'), role('ChangeBoard', 'mallory-2'))).toBe(true);
    expect(same(role('ChangeBoard', 'mallory'), role('ChangeBoard', 'Mallory'))).toBe(true);
    expect(same(role('ChangeBoard', 'alice'), role('changeboard', 'bob'))).toBe(true);
    expect(same(role('ChangeBoard', 'alice'), role('Operators', 'alice'))).toBe(false);
    expect(same(role('ChangeBoard', 'x'), `arn:aws:sts::444455556666:assumed-role/ChangeBoard/x`)).toBe(false);
  });

  it('tells sessions apart only for roles declared trusted for session names, still ignoring case', () => {
    const trusted = { ...DEFAULT_ACCESS, trustedSessionRoles: [`arn:aws:iam::${acct}:role/ChangeBoard`] };
    expect(same(role('ChangeBoard', 'alice'), role('ChangeBoard', 'bob'), trusted)).toBe(false);
    expect(same(role('ChangeBoard', 'mallory'), role('ChangeBoard', 'MALLORY'), trusted)).toBe(true);
    expect(same(role('Other', 'alice'), role('Other', 'bob'), trusted)).toBe(true);
  });

  it('identifies IAM Identity Center users by session name across permission sets and accounts', () => {
    const alice = role('AWSReservedSSO_ChangeBoard_0123456789abcdef', 'alice@example.com');
    const bob = role('AWSReservedSSO_ChangeBoard_0123456789abcdef', 'bob@example.com');
    expect(same(alice, bob)).toBe(false);
    expect(same(alice, role('AWSReservedSSO_Admin_fedcba9876543210', 'Alice@Example.com'))).toBe(true);
    expect(same(alice, `arn:aws:sts::444455556666:assumed-role/AWSReservedSSO_X_1/alice@example.com`)).toBe(true);
  });

  it('treats IAM user names case-insensitively and ignores their path', () => {
    expect(same(user('mallory'), user('Mallory'))).toBe(true);
    expect(same(user('mallory'), user('mallory', 'ops/'))).toBe(true);
    expect(same(user('alice'), user('bob'))).toBe(false);
  });

  it('counts federated users and the root user as one person per account', () => {
    expect(same(`arn:aws:sts::${acct}:federated-user/a`, `arn:aws:sts::${acct}:federated-user/b`)).toBe(true);
    expect(identify(`arn:aws:iam::${acct}:root`).persons).toEqual([`root:${acct}`]);
  });

  it('folds local names by case, blanks and Unicode compatibility forms', () => {
    expect(same('mallory', ' Mallory ')).toBe(true);
    expect(same('mallory', 'ｍａｌｌｏｒｙ')).toBe(true);
    expect(same('alice', 'bob')).toBe(false);
  });

  it('joins principals through people, never splitting them', () => {
    const config = { ...DEFAULT_ACCESS, people: { alice: [user('alice'), role('AWSReservedSSO_*', 'alice@example.com')] } };
    expect(same(user('alice'), role('AWSReservedSSO_Admin_1', 'alice@example.com'), config)).toBe(true);
    expect(same(user('alice'), user('bob'), config)).toBe(false);
    // A principal matching two people is both: it cannot approve for either.
    const overlapping = { ...DEFAULT_ACCESS, people: { a: [user('shared')], b: [user('shared'), user('bob')] } };
    expect(same(user('shared'), user('bob'), overlapping)).toBe(true);
  });

  it('authorizes routes by principal patterns and says why it refuses', () => {
    const config = {
      ...DEFAULT_ACCESS,
      proposers: [role('AWSReservedSSO_Engineers_*', '*')],
      approvers: [role('AWSReservedSSO_ChangeBoard_*', '*')],
    };
    const engineer = role('AWSReservedSSO_Engineers_42', 'alice@example.com');
    expect(forbiddenReason(engineer, 'propose', config)).toBeUndefined();
    expect(forbiddenReason(engineer, 'approve', config)).toMatch(
      /may not approve change requests: it matches none of the configured approvers/,
    );
    expect(forbiddenReason(engineer, 'read', config)).toBeUndefined();
    expect(forbiddenReason(user('eve'), 'read', config)).toMatch(/proposers or approvers/);
    expect(forbiddenReason(user('eve'), 'approve')).toBeUndefined();
  });

  it('matches globs case-insensitively, with * across slashes and regex characters taken literally', () => {
    expect(globMatches('arn:aws:iam::*:user/*', user('x', 'a/b/'))).toBe(true);
    expect(globMatches('a.b', 'axb')).toBe(false);
    expect(globMatches('a?c', 'ABC')).toBe(true);
  });

  it('parses the access configuration and names every problem', () => {
    expect(parseAccessConfig(undefined, 'f')).toBe(DEFAULT_ACCESS);
    expect(parseAccessConfig('{"approvers":["x"]}', 'f')).toMatchObject({ approvers: ['x'], proposers: ['*'] });
    expect(() => parseAccessConfig('{', 'f')).toThrow('f: the access configuration is not valid JSON');
    expect(() => parseAccessConfig('[]', 'f')).toThrow('must be a JSON object');
    expect(() => parseAccessConfig('{"approver":["x"]}', 'f')).toThrow(/unknown access setting\(s\) approver/);
    expect(() => parseAccessConfig('{"approvers":"x"}', 'f')).toThrow('f: approvers must be a list of principal patterns');
    expect(() => parseAccessConfig('{"people":{"a":[]}}', 'f')).toThrow('people.a must be a non-empty list');
    expect(() => parseAccessConfig('{"people":[]}', 'f')).toThrow('people must be an object');
  });

  it.each([
    [
      '{"proposers":["*"],"approvers":["*"],"aprovers":["x"],"Peoples":{}}',
      'f: unknown access setting(s) aprovers, Peoples; known: proposers',
    ],
    ['{"proposers":[]}', 'f: proposers is empty, so nobody could propose; list at least one principal pattern'],
    ['{"approvers":[]}', 'f: approvers is empty, so nobody could approve'],
    ['{"approvers":[42]}', 'f: approvers must be a list of principal patterns (non-empty strings), not [42]'],
    ['{"proposers":["ok", "  "]}', 'f: proposers must be a list of principal patterns'],
    ['{"proposers":null}', 'f: proposers must be a list of principal patterns (non-empty strings), not null'],
    ['{"trustedSessionRoles":{"a":"b"}}', 'f: trustedSessionRoles must be a list of principal patterns'],
    ['{"identityCenterRoles":"AWSReservedSSO_*"}', 'f: identityCenterRoles must be a list of principal patterns'],
    ['{"people":{"alice":"arn:aws:iam::1:user/alice"}}', 'f: people.alice must be a non-empty list of principal patterns'],
    ['{"people":{"alice":[1]}}', 'f: people.alice must be a non-empty list'],
    ['{"people":{" ":["x"]}}', 'f: people.  must be a non-empty list'],
    ['{"people":"alice"}', 'f: people must be an object mapping a person to a list of principal patterns'],
    ['{"people":null}', 'f: people must be an object'],
    ['"proposers"', 'f: the access configuration must be a JSON object'],
    ['null', 'f: the access configuration must be a JSON object'],
  ])('refuses %s, naming the setting', (json, message) => {
    expect(() => parseAccessConfig(json, 'f')).toThrow(message);
  });

  it('keeps lists that are empty on purpose: no trusted session roles, no Identity Center roles', () => {
    expect(parseAccessConfig('{"trustedSessionRoles":[],"identityCenterRoles":[],"people":{}}', 'f')).toEqual({
      ...DEFAULT_ACCESS,
      trustedSessionRoles: [],
      identityCenterRoles: [],
    });
    expect(parseAccessConfig('   ', 'f')).toBe(DEFAULT_ACCESS);
  });
});
