import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles (an esbuild alias, lib/guard-function.ts).
 * Lambda hands every function its role's credentials in environment variables, and the SDK's default chain takes
 * them from there first; the rest of the chain (profiles, SSO, web identity, processes, instance metadata) can never
 * answer in Lambda, yet its code was a sixth of each bundle and of the time to import it. Without the variables this
 * fails with the SDK's own error naming them, as the full chain would in a Lambda function.
 */
export const defaultProvider = (init: Parameters<typeof fromEnv>[0] = {}): ReturnType<typeof fromEnv> => fromEnv(init);
