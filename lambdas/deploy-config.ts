import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StaticTenantDirectory } from './adapters/static-tenant-directory';
import { type AccessConfig, parseAccessConfig } from './domain/identity';
import type { TenantConfig } from './ports/tenants';
import { type GuardSettings, parseSettings } from './settings';

/**
 * The deployment's configuration as the functions see it: a JSON file bundled next to each handler by CDK (see
 * lib/guard-function.ts), not environment variables. Lambda caps a function's variables at 4 KB in all, which the
 * tenant list outgrows at about 14 tenants; a file in the code package has no such limit, cannot be edited without a
 * deployment (unlike an item in the table, which anyone with table write access could point at another URL to
 * collect credentials), and is read once per container from local disk.
 */
export const DEPLOY_CONFIG_FILE = 'sdim-guard-deploy.json';

export interface DeployConfig {
  readonly tenants: readonly TenantConfig[];
  /** As lambdas/settings.ts parses them; absent means the built-in defaults. */
  readonly settings?: Record<string, unknown>;
  /** Proposers, approvers and the identity model, as lambdas/domain/identity.ts parses them; absent = defaults. */
  readonly access?: Record<string, unknown>;
}

export interface LoadedDeployConfig {
  readonly tenants: StaticTenantDirectory;
  readonly settings: GuardSettings;
  readonly access: AccessConfig;
}

/** Parses and checks the bundled file; every problem names the file. */
export function parseDeployConfig(json: string, source: string): LoadedDeployConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error(`${source} is not JSON`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${source} must be a JSON object`);
  const { tenants, settings, access } = raw as { tenants?: unknown; settings?: unknown; access?: unknown };
  return {
    tenants: StaticTenantDirectory.fromList(tenants, `${source}: tenants`),
    settings: parseSettings(settings === undefined ? undefined : JSON.stringify(settings), `${source}: settings`),
    access: parseAccessConfig(access === undefined ? undefined : JSON.stringify(access), `${source}: access`),
  };
}

let loaded: LoadedDeployConfig | undefined;

/** The file in the function's code directory (LAMBDA_TASK_ROOT), read once per container. */
export function bundledDeployConfig(dir = process.env.LAMBDA_TASK_ROOT): LoadedDeployConfig {
  if (loaded) return loaded;
  if (!dir) throw new Error(`LAMBDA_TASK_ROOT is not set, so ${DEPLOY_CONFIG_FILE} cannot be found`);
  const file = join(dir, DEPLOY_CONFIG_FILE);
  let json: string;
  try {
    json = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`${file} cannot be read (${(error as NodeJS.ErrnoException).code}): the bundle was not built by the sdim-guard stack`);
  }
  loaded = parseDeployConfig(json, file);
  return loaded;
}
