/** Reads required configuration at cold start: a missing variable fails the deployment's first call, loudly. */
export function getStringFromEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') throw new Error(`environment variable ${name} is required`);
  return value;
}
