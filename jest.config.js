process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

// Tests mirror the architecture: unit (pure domain), integration (adapters against DynamoDB Local and the
// emulator), e2e (CLI and handlers through the local runtime), infra (CDK templates), lambda-runtime (the deployed
// bundles under aws-lambda-ric).
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

// Integration and e2e tests run against Amazon's DynamoDB Local, started once per project. e2e tests spawn CLI
// processes (each compiles TypeScript and may start Java): on a shared two-core machine they get two minutes.
const withDynamo = {
  globalSetup: '<rootDir>/test/support/dynamodb-global-setup.ts',
  globalTeardown: '<rootDir>/test/support/dynamodb-global-teardown.ts',
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    project('unit'),
    project('integration', withDynamo),
    project('e2e', { ...withDynamo, setupFilesAfterEnv: ['<rootDir>/test/support/e2e-timeout.ts'] }),
    project('infra'),
    // The bundles CDK builds, run by the real Lambda runtime interface client on Node 22 and 24.
    project('lambda-runtime', withDynamo),
  ],
  // bin/ and the local runtime run mostly in CLI child processes (the e2e tests), which coverage cannot see; the
  // thresholds are set where the code runs inside jest, highest on the pure domain.
  collectCoverageFrom: ['lambdas/**/*.ts', 'local/**/*.ts', 'lib/**/*.ts', '!**/*.d.ts', '!local/bench/**'],
  coverageProvider: 'v8',
  coverageReporters: ['text-summary'],
  coverageThreshold: {
    // Everything the paths below do not name: mostly the local runtime, exercised through CLI child processes.
    global: { lines: 30 },
    './lambdas/adapters/': { lines: 75 },
    './lambdas/handlers/': { lines: 80 },
    './lambdas/domain/': { lines: 95, branches: 85 },
    './lambdas/isc/': { lines: 90 },
    './lambdas/use-cases/': { lines: 90 },
    './lib/': { lines: 95 },
    './local/emulator/': { lines: 95 },
  },
  testTimeout: 30_000,
};
