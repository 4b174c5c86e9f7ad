import { existsSync, readFileSync } from 'node:fs';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { SdimGuardStack, type SdimGuardStackProps } from '../lib/sdim-guard-stack';

/**
 * The CDK app. Configuration comes from a JSON file (`-c config=sdim-guard.config.json`, default
 * `sdim-guard.config.json` if present) or from the `sdimGuard` context in cdk.json. Synthesizes offline.
 */
export function loadConfig(app: App): Omit<SdimGuardStackProps, 'env'> & { stackName?: string } {
  const file = app.node.tryGetContext('config') ?? (existsSync('sdim-guard.config.json') ? 'sdim-guard.config.json' : undefined);
  const raw = file ? JSON.parse(readFileSync(file, 'utf8')) : app.node.tryGetContext('sdimGuard');
  if (!raw || !Array.isArray(raw.tenants)) {
    throw new Error(
      'sdim-guard needs tenants: put {"tenants": [{"name": …, "url": …}]} in sdim-guard.config.json or the sdimGuard context of cdk.json',
    );
  }
  return raw;
}

export function buildApp(app = new App()): { app: App; stack: SdimGuardStack } {
  const { stackName, ...config } = loadConfig(app);
  // Environment-agnostic: the template is the same for every account and region, and synthesizes offline.
  const stack = new SdimGuardStack(app, stackName ?? 'SdimGuard', config);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack };
}

if (require.main === module) buildApp().app.synth();
