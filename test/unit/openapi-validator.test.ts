import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { officialValidators, projectValidator } from '../support/openapi-validator';

// The conformance tests are only as good as this validator: it must be able to say no.

describe('the OpenAPI response validator', () => {
  const validator = projectValidator();

  it('accepts a valid integration and rejects one missing a required field', () => {
    const valid = { id: 'a', name: 'n', description: 'd', type: 't', attributes: {} };
    expect(validator.problems('GET', '/service-desk-integrations/v1/a', 200, valid)).toEqual([]);
    expect(validator.problems('GET', '/service-desk-integrations/v1/a', 200, { ...valid, description: undefined })).toEqual([
      expect.stringMatching(/description: is required/),
    ]);
  });

  it('rejects a status the operation does not document, and a wrong error shape', () => {
    expect(validator.problems('DELETE', '/service-desk-integrations/v1/a', 200, {})).toEqual([
      expect.stringMatching(/does not document status 200/),
    ]);
    expect(validator.problems('GET', '/service-desk-integrations/v1', 400, { messages: 'x' })).toEqual([
      expect.stringMatching(/messages: must be array/),
    ]);
  });

  it('routes literal segments before {id}', () => {
    expect(validator.problems('GET', '/service-desk-integrations/v1/types', 200, [{ type: 't', scriptName: 's' }])).toEqual([]);
    expect(validator.problems('GET', '/service-desk-integrations/v1/types', 200, [{ type: 't' }])).toEqual([
      expect.stringMatching(/scriptName: is required/),
    ]);
  });

  it('describes the deprecated paths with the same contract, and search', () => {
    const valid = { id: 'a', name: 'n', description: 'd', type: 't', attributes: {} };
    expect(validator.problems('GET', '/v2024/service-desk-integrations/a', 200, valid)).toEqual([]);
    expect(validator.problems('POST', '/search/v1', 200, [{ id: 'e', actor: { name: 'mallory' } }])).toEqual([]);
    expect(validator.problems('POST', '/v3/search', 200, [{ id: 'e', actor: 'mallory' }])).toEqual([
      expect.stringMatching(/actor: must be object/),
    ]);
    expect(validator.problems('GET', '/beta/nothing', 200, {})).toEqual([expect.stringMatching(/not in the document/)]);
  });

  it('loads the official excerpts whenever they are beside the repository, each for its own paths', () => {
    const shared = join(__dirname, '..', '..', '..', 'shared', 'isc-api');
    const official = officialValidators();
    expect(official).toHaveLength(existsSync(shared) ? 4 : 0);
    const covering = (path: string) => official.filter((o) => o.validator.covers(path)).map((o) => o.version);
    if (official.length > 0) {
      expect(covering('/service-desk-integrations/v1/abc')).toEqual(['v1']);
      expect(covering('/v3/service-desk-integrations/types')).toEqual(['v3']);
      expect(covering('/v3/search')).toEqual(['search-v1']);
      expect(covering('/search/v1')).toEqual(['search-v1']);
    }
  });
});
