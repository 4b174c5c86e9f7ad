/**
 * Realistic SDIM definitions, one or more per documented type, carrying credentials in every form their connectors
 * use: by attribute name (password, pwd, apiToken, clientSecret, authHeader, …), in URL userinfo, in name/value
 * header arrays (Authorization, Cookie, X-Api-Key), as Bearer/Basic tokens inside header lines, as a JWT, as a PEM
 * private key, in query and connection strings and in a provisioning script. Every credential is unique and listed
 * in CORPUS_SECRETS, so a test can prove that none of their bytes reached a store, a log, an alert or an export.
 * Settings ABOUT credentials (tokenUrl, passwordPolicy, authType, …) are listed in CORPUS_VISIBLE: they must stay
 * readable.
 */

const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

export const CORPUS_SECRETS = {
  snowPassword: 'Sn0w!Corpus-pw-7731',
  snowProxyPassword: 'pr0xy-Pa55-1128',
  snowUrlPassword: 'urlPw-9f8e7d6c',
  jiraCloudToken: 'ATATT3xFfGF0corpusToken8841',
  jiraCloudBasicPassword: 'jcBasic-Pw-5522',
  jiraServerPwd: 'jSrv-pwd-6633',
  jiraServerCookie: 'JSESSIONID=7E1F2A9C0D3B4E5F6071',
  helixPassword: 'Bmc#Helix-corpus-4410',
  helixJwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzcC1jb3JwdXMiLCJpYXQiOjE3MDAwMDAwMDB9.c29tZXNpZ25hdHVyZTEyMzQ1Ng',
  remedyPassword: 'Rem3dy!corpus-2207',
  remedyClientSecret: 'RFCORPUSSECRET446688',
  remedyPrivateKeyBody: 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7corpusKEYmaterial0099',
  genericClientSecret: 'g3n-corpus-s3cret-9090',
  genericApiKey: 'gk_live_51Hcorpus0ApiKey7788',
  genericBearer: 'bearerCorpusTok3n-ab12cd34ef56',
  genericQueryToken: 'qTok-corpus-77aa88bb',
  genericScriptPassword: 'scr1pt-Pw-corpus-3344',
  genericConnPassword: 'c0nn-Pw-corpus-5566',
  zendeskToken: 'zdCORPUSabcdef123456789',
  zendeskAuthHeader: 'zd-authHeader-val-1357',
  zendeskApiTokenBasic: 'zdBasicTok-2468',
  zendeskGithubStyle: 'ghp_corpusTok3nInUserinfo123456',
} as const;

export const CORPUS_VISIBLE = {
  tokenUrl: 'https://itsm.corpus.example/oauth2/token',
  passwordPolicy: 'min-12-chars-rotate-90-days',
  authType: 'OAuth2',
};

const s = CORPUS_SECRETS;
// The armour is assembled at run time so secret scanners do not mistake this fake key for a real one.
const armour = (edge: 'BEGIN' | 'END') => `${'-'.repeat(5)}${edge} ${['PRIVATE', 'KEY'].join(' ')}${'-'.repeat(5)}`;
const PEM = `${armour('BEGIN')}\n${s.remedyPrivateKeyBody}\nAbCdEf0123456789corpus\n${armour('END')}\n`;

const owner = { type: 'IDENTITY', id: '2c9180835d2e5168015d32f890ca1581', name: 'Corpus Owner' };
const cluster = { type: 'CLUSTER', id: '2c9180866166b5b0016167c32ef31a66', name: 'Corpus Cluster' };
const config = (managed: string) => ({
  universalManager: false,
  managedResourceRefs: [{ type: 'SOURCE', id: managed, name: `Source ${managed.slice(0, 4)}` }],
  planInitializerScript: null,
  noProvisioningRequests: false,
  provisioningRequestExpiration: 7,
});

/** ISC create bodies (no id): one per documented type, Generic twice (OAuth2 and API key). */
export function corpusIntegrations(): Array<Record<string, unknown>> {
  return [
    {
      name: 'Corpus ServiceNow',
      description: 'ServiceNow with a proxy and a URL holding credentials',
      type: 'ServiceNowSDIM',
      ownerRef: owner,
      clusterRef: cluster,
      provisioningConfig: config('aa11aa11aa11aa11aa11aa11aa11aa11'),
      attributes: {
        url: 'https://corpus.service-now.com',
        username: 'svc_corpus',
        password: s.snowPassword,
        proxyPassword: s.snowProxyPassword,
        instanceUrl: `https://svc_corpus:${s.snowUrlPassword}@corpus.service-now.com/api`,
        ticketType: 'sc_request',
        passwordPolicy: CORPUS_VISIBLE.passwordPolicy,
      },
    },
    {
      name: 'Corpus Jira Cloud',
      description: 'Jira Cloud with an API token and a Basic header',
      type: 'Jira Cloud SDIM',
      ownerRef: owner,
      provisioningConfig: config('bb22bb22bb22bb22bb22bb22bb22bb22'),
      attributes: {
        url: 'https://corpus.atlassian.net',
        username: 'iam-bot@corpus.example',
        apiToken: s.jiraCloudToken,
        headers: [{ name: 'Authorization', value: `Basic ${basic('iam-bot@corpus.example', s.jiraCloudBasicPassword)}` }],
        projectKey: 'IAM',
      },
    },
    {
      name: 'Corpus Jira Server',
      description: 'Jira Server with pwd and a session cookie',
      type: 'Jira Server SDIM',
      ownerRef: owner,
      provisioningConfig: config('cc33cc33cc33cc33cc33cc33cc33cc33'),
      attributes: {
        url: 'https://jira.corpus.internal',
        username: 'sailpoint',
        pwd: s.jiraServerPwd,
        requestHeaders: [{ key: 'Cookie', value: s.jiraServerCookie }],
        projectKey: 'ACCESS',
      },
    },
    {
      name: 'Corpus BMC Helix ITSM',
      description: 'Helix with a password and a JWT session',
      type: 'BMC Helix ITSM SDIM',
      ownerRef: owner,
      provisioningConfig: config('dd44dd44dd44dd44dd44dd44dd44dd44'),
      attributes: {
        url: 'https://corpus-restapi.onbmc.com',
        user: 'sp_integration',
        password: s.helixPassword,
        session: s.helixJwt,
        company: 'Corpus Corp',
      },
    },
    {
      name: 'Corpus Remedyforce',
      description: 'Remedyforce with OAuth client secret and a JWT-bearer private key',
      type: 'BMC Helix Remedyforce SDIM',
      ownerRef: owner,
      provisioningConfig: config('ee55ee55ee55ee55ee55ee55ee55ee55'),
      attributes: {
        url: 'https://corpus.my.salesforce.com',
        username: 'rf-integration@corpus.example',
        password: s.remedyPassword,
        clientId: '3MVG9corpusclient',
        clientSecret: s.remedyClientSecret,
        jwtSigningMaterial: PEM,
      },
    },
    {
      name: 'Corpus Generic OAuth2',
      description: 'Generic web service with OAuth2, a bearer header line, a token in a query and a script',
      type: 'Web Service SDIM',
      ownerRef: owner,
      clusterRef: cluster,
      provisioningConfig: {
        ...config('ff66ff66ff66ff66ff66ff66ff66ff66'),
        planInitializerScript: {
          source: `import sailpoint.object.*;\nString password = "${s.genericScriptPassword}";\nplan.put("x", "y");\n`,
        },
      },
      attributes: {
        url: 'https://itsm.corpus.example/api',
        authType: CORPUS_VISIBLE.authType,
        tokenUrl: CORPUS_VISIBLE.tokenUrl,
        clientId: 'sailpoint-sdim',
        clientSecret: s.genericClientSecret,
        customHeaders: `Accept: application/json\nAuthorization: Bearer ${s.genericBearer}`,
        statusUrl: `https://itsm.corpus.example/status?access_token=${s.genericQueryToken}&verbose=1`,
        database: `Server=db.corpus.example;Database=itsm;User Id=sp;Password=${s.genericConnPassword};`,
        requestTimeout: 30,
      },
    },
    {
      name: 'Corpus Generic API key',
      description: 'Generic web service with an API key header',
      type: 'Web Service SDIM',
      ownerRef: owner,
      clusterRef: cluster,
      provisioningConfig: config('ab77ab77ab77ab77ab77ab77ab77ab77'),
      attributes: {
        url: 'https://itsm2.corpus.example/api',
        authType: 'API_KEY',
        headers: [{ header: 'X-Api-Key', value: s.genericApiKey }],
      },
    },
    {
      name: 'Corpus Zendesk',
      description: 'Zendesk with an API token, an auth header and a token in userinfo',
      type: 'Zendesk SDIM',
      ownerRef: owner,
      provisioningConfig: config('cd88cd88cd88cd88cd88cd88cd88cd88'),
      attributes: {
        url: 'https://corpus.zendesk.com',
        email: 'iam@corpus.example',
        apiToken: s.zendeskToken,
        authHeader: s.zendeskAuthHeader,
        basicHeader: `Basic ${basic('iam@corpus.example/token', s.zendeskApiTokenBasic)}`,
        mirror: `https://${s.zendeskGithubStyle}@git.corpus.example/zendesk.git`,
      },
    },
  ];
}

/** Every credential byte sequence to look for (base64 forms included, as they appear in Basic headers). */
export function corpusNeedles(): string[] {
  return [
    ...Object.values(CORPUS_SECRETS),
    basic('iam-bot@corpus.example', s.jiraCloudBasicPassword),
    basic('iam@corpus.example/token', s.zendeskApiTokenBasic),
  ];
}

/** The needles found in `text` (empty when clean). */
export function leakedIn(text: string): string[] {
  return corpusNeedles().filter((needle) => text.includes(needle));
}
