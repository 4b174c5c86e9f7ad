import { Annotations, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
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
import {
  AccountPrincipal,
  AccountRootPrincipal,
  AnyPrincipal,
  Effect,
  type IPrincipal,
  PolicyDocument,
  PolicyStatement,
} from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { GSI1_FAMILIES, KEY_FAMILIES } from '../lambdas/adapters/dynamodb/table';
import type { DeployConfig } from '../lambdas/deploy-config';
import { gateRules } from '../lambdas/domain/iam-patterns';
import { type AccessConfig, DEFAULT_ACCESS } from '../lambdas/domain/identity';
import { atLeastOnce } from './alarms';
import type { ChangeQueue } from './change-queue';
import { GuardFunction } from './guard-function';
import { acknowledge } from './nag';
import type { GuardStore } from './store';
import type { TenantCredentials, TenantProps } from './tenant-credentials';

export type ApiGatewayLogsRole = 'create' | 'existing';

/** Who besides the deploying account's principals may call the API at all (their own IAM policies still decide). */
export interface ApiCallers {
  /** Other AWS accounts (12 digits) whose principals may call the API. @default none */
  readonly accounts?: readonly string[];
  /** An AWS Organizations id (`o-…`): principals of any account in it may call the API. @default none */
  readonly organizationId?: string;
}

/** API Gateway's limit on the size of a REST API's resource policy. */
export const RESOURCE_POLICY_MAX_BYTES = 8192;

/** Checks `apiCallers` as it comes from the config file; every problem names the field. */
export function parseApiCallers(raw: unknown): ApiCallers {
  if (raw === undefined) return {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new Error('apiCallers must be an object: {"accounts": ["123456789012"], "organizationId": "o-…"}');
  const unknown = Object.keys(raw).filter((k) => k !== 'accounts' && k !== 'organizationId');
  if (unknown.length > 0) throw new Error(`apiCallers: unknown field(s) ${unknown.join(', ')}; known: accounts, organizationId`);
  const { accounts, organizationId } = raw as { accounts?: unknown; organizationId?: unknown };
  if (accounts !== undefined && (!Array.isArray(accounts) || accounts.some((a) => typeof a !== 'string' || !/^\d{12}$/.test(a))))
    throw new Error(`apiCallers.accounts must be a list of 12-digit AWS account ids, not ${JSON.stringify(accounts)}`);
  if (organizationId !== undefined && (typeof organizationId !== 'string' || !/^o-[a-z0-9]{10,32}$/.test(organizationId)))
    throw new Error(
      `apiCallers.organizationId must be an AWS Organizations id (o- and 10 to 32 letters or digits), not ${JSON.stringify(organizationId)}`,
    );
  return {
    ...(accounts ? { accounts: [...new Set(accounts as string[])] } : {}),
    ...(organizationId ? { organizationId } : {}),
  };
}

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
  /** Proposers and approvers: the function enforces them, and the resource policy denies by them too. @default DEFAULT_ACCESS */
  readonly access?: AccessConfig;
  /** Callers outside the deploying account allowed to reach the API. @default the deploying account only */
  readonly apiCallers?: ApiCallers;
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
    props.store.bindTable(this.function, [
      // It serves every read: requests, a tenant's history, drift and journal, resource versions.
      {
        actions: ['GetItem', 'BatchGetItem', 'Query'],
        partitionKeys: [KEY_FAMILIES.request, KEY_FAMILIES.tenant, KEY_FAMILIES.resource],
      },
      { actions: ['Query'], partitionKeys: [GSI1_FAMILIES.requests, GSI1_FAMILIES.snapshots], index: true },
      // verify compares the ledger with its journal entries; reading it is all this role may do with it.
      { actions: ['Query'], partitionKeys: [KEY_FAMILIES.ledger] },
      // Writes only requests and, for them and for drift acceptance, T#<tenant> items (D#…, J#…): never a resource
      // version nor a ledger entry, so it cannot make a hand edit look approved. (LeadingKeys cannot limit sort keys:
      // docs/architecture.md "What an insider can still do".)
      { actions: ['PutItem'], partitionKeys: [KEY_FAMILIES.request, KEY_FAMILIES.tenant] },
    ]);
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
      policy: this.resourcePolicy(props.access ?? DEFAULT_ACCESS, parseApiCallers(props.apiCallers)),
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

  /**
   * The API's resource policy, from the access configuration the function enforces (one source, two gates): only the
   * deploying account's principals (and `apiCallers`) may invoke it at all, and each route is denied to every
   * principal outside its lists (lambdas/domain/iam-patterns.ts). aws:PrincipalArn names a role, not its session:
   * every session of a listed role passes this gate, and the function decides (docs/deploy.md section 9).
   */
  private resourcePolicy(access: AccessConfig, callers: ApiCallers): PolicyDocument {
    const invoke = { actions: ['execute-api:Invoke'], resources: ['execute-api:/*'] };
    const principals: IPrincipal[] = [new AccountRootPrincipal(), ...(callers.accounts ?? []).map((a) => new AccountPrincipal(a))];
    const statements = [
      new PolicyStatement({ sid: 'AccountCallersOnly', effect: Effect.ALLOW, principals, ...invoke }),
      ...(callers.organizationId
        ? [
            new PolicyStatement({
              sid: 'OrganizationCallers',
              effect: Effect.ALLOW,
              principals: [new AnyPrincipal()],
              ...invoke,
              conditions: { StringEquals: { 'aws:PrincipalOrgID': callers.organizationId } },
            }),
          ]
        : []),
    ];
    // Routes with the same callers share one statement: the policy stays under API Gateway's 8 KB for longer lists.
    const denied = new Map<string, { allow: readonly string[]; resources: string[] }>();
    for (const rule of gateRules(access)) {
      const route = `${rule.gate.method} ${rule.gate.path}`;
      for (const reason of rule.unconvertible)
        Annotations.of(this).addWarningV2(
          'sdim-guard:access-pattern-not-iam',
          `${route} gets no IAM-level deny: ${reason}. The approval function still enforces it (docs/deploy.md section 9).`,
        );
      for (const note of rule.notes) Annotations.of(this).addWarningV2('sdim-guard:access-pattern-matches-nobody', `${route}: ${note}`);
      if (rule.allow === 'anyone') continue;
      const key = JSON.stringify(rule.allow);
      const group = denied.get(key) ?? { allow: rule.allow, resources: [] };
      group.resources.push(`execute-api:/*/${rule.gate.method}${rule.gate.path}`);
      denied.set(key, group);
    }
    for (const [i, { allow, resources }] of [...denied.values()].entries()) {
      statements.push(
        new PolicyStatement({
          sid: `OnlyListedCallers${i + 1}`,
          effect: Effect.DENY,
          principals: [new AnyPrincipal()],
          actions: ['execute-api:Invoke'],
          resources,
          // No pattern left (every one matches no caller): the routes are denied to everyone, as the function denies them.
          ...(allow.length > 0 ? { conditions: { ArnNotLike: { 'aws:PrincipalArn': [...allow] } } } : {}),
        }),
      );
    }
    const document = new PolicyDocument({ statements });
    const bytes = JSON.stringify(Stack.of(this).resolve(document.toJSON())).length;
    if (bytes > RESOURCE_POLICY_MAX_BYTES)
      throw new Error(
        `the approval API's resource policy would be ${bytes} bytes, over API Gateway's ${RESOURCE_POLICY_MAX_BYTES}: use fewer or broader proposers/approvers patterns`,
      );
    return document;
  }
}
