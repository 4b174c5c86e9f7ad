import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { decide, type Statement } from './iam-policy';

/**
 * A stand-in for API Gateway's IAM authorization: verifies each request's SigV4 signature against known keys and
 * passes the signer's ARN to the handler as `requestContext.identity.userArn`, as the real one does. With a
 * `resourcePolicy` (statements whose resources are `arn:aws:execute-api:<region>:<account>:<apiId>/…`), each call is
 * first evaluated against it as `aws:PrincipalArn` = the user's ARN (IAM users: the same ARN), and refused with API
 * Gateway's body for an IAM refusal (`{"Message": …}`) before the handler runs.
 */
export async function startSigV4Gateway(
  users: Record<string, { secretAccessKey: string; arn: string; expired?: boolean }>,
  handler: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>,
  region = 'us-east-1',
  resourcePolicy?: { readonly statements: readonly Statement[]; readonly apiArn: string },
): Promise<{ url: string; stop: () => Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const url = new URL(req.url ?? '/', 'http://gateway');
    const authorization = req.headers.authorization ?? '';
    const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/[^,]+, SignedHeaders=([^,]+), Signature=([0-9a-f]+)$/.exec(authorization);
    const user = match ? users[match[1] as string] : undefined;
    const deny = (message: string) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message }));
    };
    if (!match || !user) return deny('Missing Authentication Token');
    const signedHeaders = (match[2] as string).split(';');
    const headers = Object.fromEntries(signedHeaders.map((h) => [h, String(req.headers[h] ?? '')]));
    const amzDate = String(req.headers['x-amz-date']);
    const signingDate = new Date(
      `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
    );
    const signer = new SignatureV4({
      credentials: { accessKeyId: match[1] as string, secretAccessKey: user.secretAccessKey },
      region,
      service: 'execute-api',
      sha256: Sha256,
    });
    const expected = await signer.sign(
      {
        method: req.method ?? 'GET',
        protocol: 'http:',
        hostname: url.hostname,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        body: body || undefined,
      },
      { signingDate },
    );
    if (expected.headers.authorization !== authorization)
      return deny('The request signature we calculated does not match the signature you provided.');
    // What API Gateway answers to a correctly signed call whose session credentials ran out.
    if (user.expired) return deny('The security token included in the request is expired');
    // The stage name is the first path segment, as on execute-api URLs.
    const path = url.pathname.replace(/^\/[^/]+/, '');
    if (resourcePolicy) {
      const resource = `${resourcePolicy.apiArn}${url.pathname.split('/')[1]}/${req.method ?? 'GET'}${path}`;
      const decision = decide(
        resourcePolicy.statements,
        { action: 'execute-api:Invoke', resource, principalArn: user.arn },
        { resourcePolicy: true },
      );
      if (decision !== 'allow') {
        res.writeHead(403, { 'content-type': 'application/json' });
        return res.end(
          JSON.stringify({
            Message: `User: ${user.arn} is not authorized to perform: execute-api:Invoke on resource: ${resource} ${
              decision === 'explicit-deny'
                ? 'with an explicit deny'
                : 'because no resource-based policy allows the execute-api:Invoke action'
            }`,
          }),
        );
      }
    }
    const result = await handler({
      httpMethod: req.method ?? 'GET',
      path,
      body: body || null,
      isBase64Encoded: false,
      queryStringParameters: url.searchParams.size ? Object.fromEntries(url.searchParams) : null,
      requestContext: { identity: { userArn: user.arn } },
    } as unknown as APIGatewayProxyEvent);
    res.writeHead(result.statusCode, result.headers as Record<string, string>);
    res.end(result.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
