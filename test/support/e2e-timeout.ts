// e2e tests spawn CLI processes (each compiles TypeScript, some start Java): on a shared two-core machine a test
// gets two minutes. Jest reads testTimeout from the global config only, hence this per-project setup file.
jest.setTimeout(120_000);

// A command run without a stack leaves its data directory's DynamoDB Local up for the next one (two minutes by
// default); tests end theirs after two idle seconds so none outlives its test file for long.
process.env.SDIM_GUARD_STORE_IDLE_SECONDS ??= '2';
