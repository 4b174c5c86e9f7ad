import { type CfnElement, Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Acknowledges cdk-nag findings on one construct (and what it contains), each with its reason. Ids are the exact
 * findings cdk-nag prints, e.g. 'AwsSolutions-IAM5[Resource::*]'; the pack prefix is added here.
 */
export function acknowledge(scope: IConstruct, findings: Record<string, string>): void {
  Validations.of(scope).acknowledge(
    ...Object.entries(findings).map(([id, reason]) => ({
      id: `${id.startsWith('Serverless-') ? 'Serverless' : 'AwsSolutions'}::${id}`,
      reason,
    })),
  );
}

/** How cdk-nag writes a resource's ARN attribute in a finding: `<LogicalId.Arn>`. */
export function arnToken(resource: IConstruct): string {
  return `<${Stack.of(resource).getLogicalId(resource.node.defaultChild as CfnElement)}.Arn>`;
}
