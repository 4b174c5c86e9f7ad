import type { components } from '../../lambdas/isc/openapi/isc-sdim';

type TemplateType = components['schemas']['ServiceDeskIntegrationTemplateType'];

/** One entry per integration type the ISC documentation lists, with the attributes its connector reads. */
export interface IntegrationKind extends TemplateType {
  name: string;
  /** Attribute names the connector needs, with a sample value; `secret` marks credentials. */
  attributes: Record<string, { sample: (host: string) => string | number | boolean; secret?: boolean }>;
}

const str = (v: string) => () => v;

export const INTEGRATION_KINDS: readonly IntegrationKind[] = [
  {
    name: 'ServiceNow Service Desk',
    type: 'ServiceNowSDIM',
    scriptName: 'servicenow',
    attributes: {
      url: { sample: (h) => `https://${h}.service-now.com` },
      username: { sample: str('svc_sailpoint') },
      password: { sample: str('Sn0w!Sup3rSecret'), secret: true },
      ticketType: { sample: str('sc_request') },
      cartItem: { sample: str('SailPoint Access Request') },
    },
  },
  {
    name: 'Atlassian Cloud Jira Service Management',
    type: 'Jira Cloud SDIM',
    scriptName: 'jira-cloud',
    attributes: {
      url: { sample: (h) => `https://${h}.atlassian.net` },
      username: { sample: str('iam-bot@example.com') },
      apiToken: { sample: str('ATATT3xFfGF0sEcReTtOkEn'), secret: true },
      projectKey: { sample: str('IAM') },
      issueType: { sample: str('Service Request') },
    },
  },
  {
    name: 'Atlassian Server Jira Service Management',
    type: 'Jira Server SDIM',
    scriptName: 'jira-server',
    attributes: {
      url: { sample: (h) => `https://jira.${h}.internal` },
      username: { sample: str('sailpoint') },
      password: { sample: str('J1ra-Serv3r-pw'), secret: true },
      projectKey: { sample: str('ACCESS') },
    },
  },
  {
    name: 'BMC Helix ITSM Service Desk',
    type: 'BMC Helix ITSM SDIM',
    scriptName: 'bmc-helix-itsm',
    attributes: {
      url: { sample: (h) => `https://${h}-restapi.onbmc.com` },
      user: { sample: str('sp_integration') },
      password: { sample: str('Bmc#Helix2024'), secret: true },
      company: { sample: str('Example Corp') },
    },
  },
  {
    name: 'BMC Helix Remedyforce Service Desk',
    type: 'BMC Helix Remedyforce SDIM',
    scriptName: 'bmc-remedyforce',
    attributes: {
      url: { sample: (h) => `https://${h}.my.salesforce.com` },
      username: { sample: str('rf-integration@example.com') },
      password: { sample: str('Rem3dy!force'), secret: true },
      clientId: { sample: str('3MVG9remedyforceclient') },
      clientSecret: { sample: str('RFCLIENTSECRET998877'), secret: true },
    },
  },
  {
    name: 'Generic Service Desk',
    type: 'Web Service SDIM',
    scriptName: 'generic-service-desk',
    attributes: {
      url: { sample: (h) => `https://itsm.${h}.example` },
      authType: { sample: str('OAuth2') },
      tokenUrl: { sample: (h) => `https://itsm.${h}.example/oauth2/token` },
      clientId: { sample: str('sailpoint-sdim') },
      clientSecret: { sample: str('g3n3ric-cl1ent-s3cret'), secret: true },
      requestTimeout: { sample: () => 30 },
    },
  },
  {
    name: 'Zendesk Service Desk',
    type: 'Zendesk SDIM',
    scriptName: 'zendesk',
    attributes: {
      url: { sample: (h) => `https://${h}.zendesk.com` },
      email: { sample: str('iam@example.com') },
      apiToken: { sample: str('zdTOKENabcdef123456'), secret: true },
      groupId: { sample: () => 360001234567 },
    },
  },
];

export function kindByScriptName(scriptName: string): IntegrationKind | undefined {
  return INTEGRATION_KINDS.find((k) => k.scriptName === scriptName);
}
