export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __sdimGuardDynamo?: { stop(): Promise<void> } }).__sdimGuardDynamo?.stop();
}
