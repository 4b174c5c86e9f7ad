import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duration, RemovalPolicy, Stage } from 'aws-cdk-lib';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, type NodejsFunctionProps, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { DEPLOY_CONFIG_FILE, type DeployConfig } from '../lambdas/deploy-config';
import { acknowledge } from './nag';

/**
 * Extra esbuild arguments for every function bundle (the benchmark builds its bundles with the same). Lambda gives a
 * function its credentials in environment variables only, so the SDK's default credential chain is replaced by its
 * environment step: the other steps' code (profiles, SSO, STS, instance metadata) was about 100 KB of every bundle.
 */
export const LAMBDA_ESBUILD_ARGS: Record<string, string> = {
  '--alias:@aws-sdk/credential-provider-node': join(__dirname, '..', 'lambdas', 'adapters', 'aws', 'lambda-credentials.ts'),
};

export interface GuardFunctionProps extends Omit<NodejsFunctionProps, 'entry' | 'runtime' | 'architecture'> {
  /** File under lambdas/handlers, e.g. 'snapshot.ts'. */
  readonly handlerFile: string;
  /** @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: RetentionDays;
  /**
   * Tenants and settings, bundled as lambdas/deploy-config.ts reads them (a file in the code package, not
   * environment variables: Lambda caps those at 4 KB, about 14 tenants). Plain strings only, no CDK tokens.
   * @default none (the function reads no tenant)
   */
  readonly deployConfig?: DeployConfig;
}

/**
 * Writes the deploy config once per content under the cloud assembly directory, and returns the shell command that
 * copies it into the bundle. The file's content is part of the bundle's asset hash, so a tenant change redeploys.
 */
function copyDeployConfig(scope: Construct, config: DeployConfig): (outputDir: string) => string {
  const json = JSON.stringify(config);
  if (/\$\{Token\[/.test(json)) throw new Error('the deploy config must not contain unresolved CDK tokens');
  const dir = join(Stage.of(scope)?.outdir ?? tmpdir(), 'sdim-guard-deploy-config');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${createHash('sha256').update(json).digest('hex')}.json`);
  writeFileSync(file, json);
  return (outputDir) => `cp ${JSON.stringify(file)} ${JSON.stringify(join(outputDir, DEPLOY_CONFIG_FILE))}`;
}

/**
 * Every sdim-guard function: a current Node.js runtime on arm64, X-Ray tracing, its own log group with retention,
 * structured (JSON) logs, and a minified ESM bundle with source maps. Set once here instead of five times.
 */
export class GuardFunction extends NodejsFunction {
  /** What was bundled as sdim-guard-deploy.json, if anything (infra tests read it). */
  readonly deployConfig?: DeployConfig;

  constructor(scope: Construct, id: string, props: GuardFunctionProps) {
    const { handlerFile, logRetention, environment, bundling, deployConfig, ...rest } = props;
    const copy = deployConfig ? copyDeployConfig(scope, deployConfig) : undefined;
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: logRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    super(scope, id, {
      entry: join(__dirname, '..', 'lambdas', 'handlers', handlerFile),
      handler: 'handler',
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.seconds(60),
      tracing: Tracing.ACTIVE,
      // JSON logs: every line (EMF metrics included) is a queryable record in CloudWatch Logs Insights.
      loggingFormat: LoggingFormat.JSON,
      logGroup,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...environment,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        // ESM output still meets CommonJS dependencies that call require().
        banner: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
        externalModules: [],
        esbuildArgs: LAMBDA_ESBUILD_ARGS,
        ...(copy
          ? {
              commandHooks: {
                beforeBundling: () => [],
                beforeInstall: () => [],
                afterBundling: (_inputDir: string, outputDir: string) => [copy(outputDir)],
              },
            }
          : {}),
        ...bundling,
      },
      ...rest,
    });
    this.deployConfig = deployConfig;
    acknowledge(this, {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]':
        'The AWS-managed basic execution role only lets the function write its own logs.',
      'AwsSolutions-IAM5[Resource::*]': 'X-Ray PutTraceSegments and PutTelemetryRecords have no resource-level permissions.',
    });
  }
}
