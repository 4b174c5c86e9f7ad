// e2e tests spawn CLI processes (each compiles TypeScript, some start Java): on a shared two-core machine a test
// gets two minutes. Jest reads testTimeout from the global config only, hence this per-project setup file.
jest.setTimeout(120_000);
