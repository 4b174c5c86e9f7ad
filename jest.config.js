// Tests mirror the architecture: unit (pure domain), integration (adapters against DynamoDB Local and the
// emulator), e2e (CLI and handlers through the local runtime), infra (CDK templates).
const transform = {
  '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
};
// middy 5+ ships ESM only; let swc turn it into CommonJS for jest.
const transformIgnorePatterns = ['/node_modules/(?!(@middy)/)'];

const project = (name, extra = {}) => ({
  displayName: name,
  testEnvironment: 'node',
  transform,
  transformIgnorePatterns,
  testMatch: [`<rootDir>/test/${name}/**/*.test.ts`],
  ...extra,
});

/** @type {import('jest').Config} */
module.exports = {
  projects: [project('unit'), project('integration'), project('e2e'), project('infra')],
  collectCoverageFrom: ['lambdas/**/*.ts', 'local/**/*.ts', 'lib/**/*.ts', '!**/*.d.ts'],
  coverageThreshold: {
    global: { lines: 80 },
  },
  testTimeout: 30_000,
};
