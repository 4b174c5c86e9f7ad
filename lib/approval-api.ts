import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RequestValidator,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { Alarm } from 'aws-cdk-lib/aws-cloudwatch';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { DeployConfig } from '../lambdas/deploy-config';
import { atLeastOnce } from './alarms';
import type { ChangeQueue } from './change-queue';
import { GuardFunction } from './guard-function';
import { acknowledge } from './nag';
import type { GuardStore } from './store';
import type { TenantCredentials, TenantProps } from './tenant-credentials';

export type ApiGatewayLogsRole = 'create' | 'existing';

/** API Gateway gives up on an integration after 29 seconds. */
export const API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS = 29;

export interface ApprovalApiProps {
  readonly tenants: readonly TenantProps[];
  readonly store: GuardStore;
  readonly credentials: TenantCredentials;
  readonly changeQueue: ChangeQueue;
  /** Approvals needed besides the requester. @default 1 */
  readonly approvalsRequired?: number;
  readonly logRetention?: RetentionDays;
  /**
   * API Gateway writes access and execution logs through ONE role per account and region (its "account settings").
   * 'create': this stack creates that role and sets it, replacing whichever role the account had, and keeps the
   * setting when the stack is deleted. 'existing': the account already has one (another stack or an admin set it);
   * this stack does not touch it. There is no default: overwriting an account-wide setting is never silent.
   */
  readonly apiGatewayLogsRole: ApiGatewayLogsRole;
  /** Tenants and settings bundled with the functions that read them. */
  readonly deployConfig: DeployConfig;
}

/**
 * The approval API: REST API Gateway with IAM authorization on every method, so the requester and approver are
 * the signed-in AWS identities (never a field of the body), access logs, and one Lambda behind it.
 */
export class ApprovalApi extends Construct {
  readonly api: RestApi;
  readonly function: GuardFunction;
  readonly alarms: Alarm[];

  constructor(scope: Construct, id: string, props: ApprovalApiProps) {
    super(scope, id);
    const approvals = props.approvalsRequired ?? 1;
    if (!Number.isInteger(approvals) || approvals < 1 || approvals > 10)
      throw new Error('approvalsRequired must be a whole number from 1 to 10');
    if (props.apiGatewayLogsRole !== 'create' && props.apiGatewayLogsRole !== 'existing') {
      throw new Error(
        `apiGatewayLogsRole must be 'create' (this stack sets the account's API Gateway logging role, replacing any other) or 'existing' (the account has one already), not ${JSON.stringify(props.apiGatewayLogsRole)}`,
      );
    }
    this.function = new GuardFunction(this, 'Function', {
      handlerFile: 'approval-api.ts',
      description: 'sdim-guard: propose, approve, reject and list change requests',
      // Under API Gateway's 29 s: the function stops before the caller is told 504, never keeps writing after it.
      timeout: Duration.seconds(API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS - 4),
      logRetention: props.logRetention,
      deployConfig: props.deployConfig,
      environment: {
        CHANGE_QUEUE_URL: props.changeQueue.queue.queueUrl,
        APPROVALS_REQUIRED: String(approvals),
      },
    });
    props.store.bindTable(this.function, ['GetItem', 'BatchGetItem', 'Query', 'PutItem']);
    props.credentials.bindReaders(this.function);
    props.credentials.bindRequestVault(this.function, ['CreateSecret', 'DeleteSecret']);
    props.changeQueue.queue.grantSendMessages(this.function);

    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.logRetention, removalPolicy: RemovalPolicy.RETAIN });
    this.api = new RestApi(this, 'Api', {
      description: 'sdim-guard change approvals (IAM-authorized)',
      ...(props.apiGatewayLogsRole === 'create'
        ? // Deleting this stack must not unset an account-wide setting other APIs may rely on by then.
          { cloudWatchRole: true, cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN }
        : { cloudWatchRole: false }),
      deployOptions: {
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields(),
        loggingLevel: MethodLoggingLevel.ERROR,
        tracingEnabled: true,
        // A change board makes a handful of calls a day; this ceiling stops a runaway script, not a person.
        throttlingRateLimit: 10,
        throttlingBurstLimit: 20,
      },
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
    });
    acknowledge(this.function, {
      'Serverless-LambdaDLQ': 'Invoked synchronously by API Gateway; the caller gets every error as an HTTP status.',
    });
    acknowledge(this.api, {
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]':
        'The AWS-managed role API Gateway needs to write execution logs to CloudWatch.',
      'AwsSolutions-APIG3':
        'Every method requires SigV4 IAM authorization; a WAF in front of an IAM-only, low-volume internal API adds cost, not protection.',
      'AwsSolutions-COG4': 'The API uses IAM authorization (people sign in with AWS identities), not Cognito user pools.',
    });
    const validator = new RequestValidator(this, 'Validator', {
      restApi: this.api,
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const integration = new LambdaIntegration(this.function);
    const requests = this.api.root.addResource('requests');
    requests.addMethod('GET', integration, { requestValidator: validator });
    requests.addMethod('POST', integration, { requestValidator: validator });
    const one = requests.addResource('{id}');
    one.addMethod('GET', integration, { requestValidator: validator });
    one.addResource('approve').addMethod('POST', integration, { requestValidator: validator });
    one.addResource('reject').addMethod('POST', integration, { requestValidator: validator });
    // The read side the CLI and the console share (same handler, same IAM authorization).
    one.addResource('view').addMethod('GET', integration, { requestValidator: validator });
    this.api.root.addResource('whoami').addMethod('GET', integration, { requestValidator: validator });
    const tenants = this.api.root.addResource('tenants');
    tenants.addMethod('GET', integration, { requestValidator: validator });
    const tenant = tenants.addResource('{tenant}');
    const drift = tenant.addResource('drift');
    drift.addMethod('GET', integration, { requestValidator: validator });
    drift.addResource('accept').addMethod('POST', integration, { requestValidator: validator });
    for (const read of ['history', 'versions', 'compare', 'verify', 'integrations'])
      tenant.addResource(read).addMethod('GET', integration, { requestValidator: validator });

    this.alarms = [
      atLeastOnce(
        this,
        'ServerErrors',
        this.api.metricServerError({ period: Duration.minutes(5) }),
        'The approval API answered 5xx: see the function log and the API access log (docs/deploy.md, "Alarms")',
      ),
      atLeastOnce(
        this,
        'Errors',
        this.function.metricErrors({ period: Duration.minutes(5) }),
        'The approval function failed or timed out (docs/deploy.md, "Alarms")',
      ),
    ];
  }
}
