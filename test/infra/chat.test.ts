import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { SdimGuardStack, type SdimGuardStackProps } from '../../lib/sdim-guard-stack';

function synth(chat: SdimGuardStackProps['chat']) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new SdimGuardStack(app, 'Chat', {
    tenants: [{ name: 'acme', url: 'https://acme.api.identitynow.com' }],
    apiGatewayLogsRole: 'existing',
    chat,
  });
  return { stack, template: Template.fromStack(stack) };
}

describe('chat delivery through Amazon Q Developer in chat applications', () => {
  const { stack, template } = synth({
    slack: [{ name: 'iam-alerts', workspaceId: 'T0123ABCD', channelId: 'C0123ABCD' }],
    teams: [
      {
        name: 'iam-board',
        teamId: '5f0e6c1a-0000-4000-8000-000000000001',
        tenantId: '5f0e6c1a-0000-4000-8000-000000000002',
        channelId: '19:abc@thread.tacv2',
      },
    ],
  });
  const topic = { Ref: stack.getLogicalId(stack.alerts.topic.node.defaultChild as never) };
  const denyAll = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/AWSDenyAll']] };

  it('subscribes a Slack channel to the alert topic, able to run nothing', () => {
    template.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
      ConfigurationName: 'iam-alerts',
      SlackWorkspaceId: 'T0123ABCD',
      SlackChannelId: 'C0123ABCD',
      SnsTopicArns: [topic],
      GuardrailPolicies: [denyAll],
      UserRoleRequired: false,
      LoggingLevel: 'ERROR',
    });
  });

  it('subscribes a Microsoft Teams channel the same way', () => {
    template.hasResourceProperties('AWS::Chatbot::MicrosoftTeamsChannelConfiguration', {
      ConfigurationName: 'iam-board',
      TeamId: '5f0e6c1a-0000-4000-8000-000000000001',
      TeamsTenantId: '5f0e6c1a-0000-4000-8000-000000000002',
      // As Teams shows it in the fixture; CloudFormation's pattern needs it URL-encoded.
      TeamsChannelId: '19%3Aabc%40thread.tacv2',
      SnsTopicArns: [topic],
      GuardrailPolicies: [denyAll],
    });
  });

  it('keeps a channel id that is already URL-encoded, in either case of hex digits', () => {
    const teams = (channelId: string) => [
      { name: 'board', teamId: '5f0e6c1a-0000-4000-8000-000000000001', tenantId: '5f0e6c1a-0000-4000-8000-000000000002', channelId },
    ];
    for (const id of ['19%3aabc%40thread.tacv2', '19%3Aabc%40thread.tacv2']) {
      synth({ teams: teams(id) }).template.hasResourceProperties('AWS::Chatbot::MicrosoftTeamsChannelConfiguration', {
        TeamsChannelId: id,
      });
    }
  });

  it('gives the channels a role with no permission at all', () => {
    const role = stack.getLogicalId(stack.chat.role?.node.defaultChild as never);
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'chatbot.amazonaws.com' } }],
      },
    });
    const attached = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes(role),
    );
    expect(attached).toEqual([]);
    expect(template.toJSON().Resources[role].Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('creates nothing without chat configuration', () => {
    const plain = synth(undefined).template;
    plain.resourceCountIs('AWS::Chatbot::SlackChannelConfiguration', 0);
    plain.resourceCountIs('AWS::Chatbot::MicrosoftTeamsChannelConfiguration', 0);
  });

  it.each([
    [{ slack: [{ name: 'bad name', workspaceId: 'T1', channelId: 'C1' }] }, /chat channel name 'bad name'/],
    [{ slack: [{ name: 'a', workspaceId: '', channelId: 'C1' }] }, /chat channel 'a': workspaceId is required/],
    [
      {
        slack: [{ name: 'a', workspaceId: 'T1', channelId: 'C1' }],
        teams: [{ name: 'a', teamId: 't', tenantId: 'x', channelId: 'c' }],
      },
      /chat channel 'a' is listed twice/,
    ],
    [
      { teams: [{ name: 'board', teamId: 'team-1', tenantId: '5f0e6c1a-0000-4000-8000-000000000002', channelId: '19:a@b' }] },
      /chat channel 'board': teamId 'team-1' is not a UUID/,
    ],
    [
      {
        teams: [
          {
            name: 'board',
            teamId: '5f0e6c1a-0000-4000-8000-000000000001',
            tenantId: '5f0e6c1a-0000-4000-8000-000000000002',
            channelId: 'https://teams.microsoft.com/l/channel/19',
          },
        ],
      },
      /chat channel 'board': channelId 'https:\/\/teams.microsoft.com\/l\/channel\/19' is not a Teams channel id/,
    ],
    [
      {
        teams: [
          {
            name: 'board',
            teamId: '5f0e6c1a-0000-4000-8000-000000000001',
            tenantId: '5f0e6c1a-0000-4000-8000-000000000002',
            channelId: '19 abc thread',
          },
        ],
      },
      /chat channel 'board': channelId '19 abc thread' is not a Teams channel id/,
    ],
  ])('refuses %j', (chat, message) => {
    expect(() => synth(chat)).toThrow(message);
  });
});
