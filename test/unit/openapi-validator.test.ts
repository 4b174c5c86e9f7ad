import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { officialValidators, projectValidator } from '../support/openapi-validator';

// The conformance tests are only as good as this validator: it must be able to say no.

describe('the OpenAPI response validator', () => {
  const validator = projectValidator();

  it('accepts a valid integration and rejects one missing a required field', () => {
    const valid = { id: 'a', name: 'n', description: 'd', type: 't', attributes: {} };
    expect(validator.problems('GET', '/service-desk-integrations/a', 200, valid)).toEqual([]);
    expect(validator.problems('GET', '/service-desk-integrations/a', 200, { ...valid, description: undefined })).toEqual([
      expect.stringMatching(/description: is required/),
    ]);
  });

  it('rejects a status the operation does not document, and a wrong error shape', () => {
    expect(validator.problems('DELETE', '/service-desk-integrations/a', 200, {})).toEqual([
      expect.stringMatching(/does not document status 200/),
    ]);
    expect(validator.problems('GET', '/service-desk-integrations', 400, { messages: 'x' })).toEqual([
      expect.stringMatching(/messages: must be array/),
    ]);
  });

  it('routes literal segments before {id}', () => {
    expect(validator.problems('GET', '/service-desk-integrations/types', 200, [{ type: 't', scriptName: 's' }])).toEqual([]);
    expect(validator.problems('GET', '/service-desk-integrations/types', 200, [{ type: 't' }])).toEqual([
      expect.stringMatching(/scriptName: is required/),
    ]);
  });

  it('loads the official excerpts whenever they are beside the repository', () => {
    const shared = join(__dirname, '..', '..', '..', 'shared', 'isc-api');
    expect(officialValidators()).toHaveLength(existsSync(shared) ? 2 : 0);
  });
});
