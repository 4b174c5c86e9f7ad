import { CfnMicrosoftTeamsChannelConfiguration, LoggingLevel, SlackChannelConfiguration } from 'aws-cdk-lib/aws-chatbot';
import { ManagedPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

/** A Slack channel already authorized in Amazon Q Developer in chat applications (console: "Configure new client"). */
export interface SlackChannel {
  /** Name of the channel configuration: letters, digits, '-' and '_'. */
  readonly name: string;
  /** The Slack workspace id the console shows, e.g. T0123ABCD. */
  readonly workspaceId: string;
  /** The channel id, e.g. C0123ABCD (channel details in Slack). */
  readonly channelId: string;
}

/** A Microsoft Teams channel already authorized in Amazon Q Developer in chat applications. */
export interface TeamsChannel {
  readonly name: string;
  /** The team id (a UUID) the console shows. */
  readonly teamId: string;
  /** The Microsoft Entra tenant id (a UUID). */
  readonly tenantId: string;
  /**
   * The channel id, from the channel's link: as Teams shows it (`19:…@thread.tacv2`) or URL-encoded
   * (`19%3a…%40thread.tacv2`, the form CloudFormation requires; the construct encodes the first form).
   */
  readonly channelId: string;
}

const UUID = /^[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$/;
/** CloudFormation's pattern for AWS::Chatbot::MicrosoftTeamsChannelConfiguration TeamsChannelId. */
const TEAMS_CHANNEL_ID = /^[a-zA-Z0-9\-_=+/.,]*%3[aA][a-zA-Z0-9\-_=+/.,]*%40[a-zA-Z0-9\-_=+/.,]*$/;

/**
 * The id as CloudFormation takes it. Teams shows `19:abc@thread.tacv2`; CloudFormation wants the `:` and `@`
 * URL-encoded, and a raw id fails only at deploy time, so encode it here and refuse anything else at synth.
 */
export function teamsChannelIdForCloudFormation(channel: TeamsChannel): string {
  const encoded = channel.channelId.trim().replace(/:/g, '%3A').replace(/@/g, '%40');
  if (!TEAMS_CHANNEL_ID.test(encoded))
    throw new Error(
      `chat channel '${channel.name}': channelId '${channel.channelId}' is not a Teams channel id (expected 19:…@thread.tacv2 or 19%3a…%40thread.tacv2, from the channel's link)`,
    );
  return encoded;
}

export interface ChatProps {
  readonly topic: ITopic;
  readonly slack?: readonly SlackChannel[];
  readonly teams?: readonly TeamsChannel[];
}

/**
 * Optional delivery of every alert and alarm to Slack and Microsoft Teams channels through Amazon Q Developer in chat
 * applications (the aws-chatbot constructs), subscribed to the alert topic. The channels only receive: their role
 * has no permission and the guardrail is AWSDenyAll, so nobody can run AWS commands from the chat.
 */
export class ChatDelivery extends Construct {
  readonly role?: Role;

  constructor(scope: Construct, id: string, props: ChatProps) {
    super(scope, id);
    const slack = props.slack ?? [];
    const teams = props.teams ?? [];
    const names = new Set<string>();
    for (const channel of [...slack, ...teams]) {
      if (!/^[A-Za-z0-9_-]{1,128}$/.test(channel.name ?? ''))
        throw new Error(`chat channel name '${channel.name}' must be 1-128 letters, digits, '-' or '_'`);
      if (names.has(channel.name)) throw new Error(`chat channel '${channel.name}' is listed twice`);
      names.add(channel.name);
      for (const [key, value] of Object.entries(channel))
        if (typeof value !== 'string' || value.trim() === '') throw new Error(`chat channel '${channel.name}': ${key} is required`);
    }
    // Checked before any resource exists, so a bad id fails synth with its channel named, not the deploy.
    for (const channel of teams)
      for (const key of ['teamId', 'tenantId'] as const)
        if (!UUID.test(channel[key])) throw new Error(`chat channel '${channel.name}': ${key} '${channel[key]}' is not a UUID`);
    for (const channel of teams) teamsChannelIdForCloudFormation(channel);
    if (names.size === 0) return;
    // Receives notifications only: no policy, and the guardrail below caps every chat user at nothing.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('chatbot.amazonaws.com'),
      description: 'sdim-guard chat channels: receive alerts, run nothing',
    });
    const denyAll = ManagedPolicy.fromAwsManagedPolicyName('AWSDenyAll');
    for (const channel of slack) {
      new SlackChannelConfiguration(this, `Slack-${channel.name}`, {
        slackChannelConfigurationName: channel.name,
        slackWorkspaceId: channel.workspaceId,
        slackChannelId: channel.channelId,
        notificationTopics: [props.topic],
        role: this.role,
        guardrailPolicies: [denyAll],
        userRoleRequired: false,
        loggingLevel: LoggingLevel.ERROR,
      });
    }
    for (const channel of teams) {
      new CfnMicrosoftTeamsChannelConfiguration(this, `Teams-${channel.name}`, {
        configurationName: channel.name,
        teamId: channel.teamId,
        teamsTenantId: channel.tenantId,
        teamsChannelId: teamsChannelIdForCloudFormation(channel),
        iamRoleArn: this.role.roleArn,
        snsTopicArns: [props.topic.topicArn],
        guardrailPolicies: [denyAll.managedPolicyArn],
        userRoleRequired: false,
        loggingLevel: 'ERROR',
      });
    }
  }
}
