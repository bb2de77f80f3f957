import { Match } from 'aws-cdk-lib/assertions';
import { expectRouteTo, synthesize } from './synth';

const synthesized = synthesize();
const { stack, template, logicalId, actionsOn } = synthesized;
const { edge, tables } = stack;

const viewerFunction = (): { FunctionCode: string; FunctionConfig: { Runtime: string } } =>
  template.toJSON().Resources[logicalId(edge.viewerRequestFunction)].Properties;

describe('RedirectEdge', () => {
  it('wires the redirect environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          LINKS_TABLE_NAME: { Ref: logicalId(tables.linksTable) },
          SALTS_TABLE_NAME: { Ref: logicalId(tables.saltsTable) },
          CLICK_QUEUE_URL: { Ref: logicalId(stack.enrichment.queue) },
          VISITOR_SALT_PERIOD: 'month',
          LINK_CACHE_TTL_SECONDS: '60',
        }),
      },
    });
  });

  it('lets the redirect read links, read/write salts and send clicks, nothing more on data', () => {
    const { redirectFunction } = edge;
    expect(actionsOn(redirectFunction, logicalId(tables.linksTable))).toEqual(['dynamodb:GetItem']);
    expect(actionsOn(redirectFunction, logicalId(tables.saltsTable))).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    // SendMessageBatch is authorised by sqs:SendMessage; the redirect never reads queue attributes or URLs.
    expect(actionsOn(redirectFunction, logicalId(stack.enrichment.queue))).toEqual(['sqs:SendMessage']);
    expect(actionsOn(redirectFunction, logicalId(tables.rawClicksTable))).toEqual([]);
  });

  it.each(['GET /{code}', 'HEAD /{code}'])('routes %s to the redirect function', (routeKey) => {
    expectRouteTo(synthesized, routeKey, edge.redirectFunction);
  });

  it('throttles and access-logs the default stage, without client IPs', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
        Format: Match.not(Match.stringLikeRegexp('sourceIp')),
      },
    });
  });

  it('logs no caller identity at all (no $context.identity.* variable), with a month of retention', () => {
    const stages = Object.values(template.findResources('AWS::ApiGatewayV2::Stage')) as {
      Properties: { AccessLogSettings: { Format: string; DestinationArn: { 'Fn::GetAtt': [string, string] } } };
    }[];
    expect(stages).toHaveLength(1);
    const { Format, DestinationArn } = stages[0].Properties.AccessLogSettings;
    expect(Format).not.toMatch(/\$context\.identity\./);
    expect(Object.keys(JSON.parse(Format) as Record<string, string>).sort()).toEqual(
      ['integrationError', 'requestId', 'requestTime', 'responseLatency', 'routeKey', 'status'],
    );
    const group = template.toJSON().Resources[DestinationArn['Fn::GetAtt'][0]];
    expect(group.Type).toBe('AWS::Logs::LogGroup');
    expect(group.Properties.RetentionInDays).toBe(30);
    expect(group.DeletionPolicy).toBe('Delete');
  });

  it('puts CloudFront in front of the HTTP API: no caching, all viewer values but Host, HTTPS, HTTP/2+3', () => {
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        HttpVersion: 'http2and3',
        PriceClass: 'PriceClass_100',
        // Beside the dashboard's bucket (test/infra/dashboard-site.test.ts).
        Origins: Match.arrayWith([
          Match.objectLike({
            DomainName: { 'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': [logicalId(edge.httpApi), 'ApiEndpoint'] }] }] },
            CustomOriginConfig: Match.objectLike({ OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] }),
          }),
        ]),
        DefaultCacheBehavior: Match.objectLike({
          // Managed-CachingDisabled and Managed-AllViewerExceptHostHeader.
          CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
          OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
          ViewerProtocolPolicy: 'redirect-to-https',
          AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
          FunctionAssociations: [
            { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [Match.anyValue(), 'FunctionARN'] } },
          ],
        }),
      }),
    });
  });

  it('copies the viewer Host into x-forwarded-host at the edge, dropping a spoofed one', () => {
    const properties = viewerFunction();
    expect(properties.FunctionConfig.Runtime).toBe('cloudfront-js-2.0');
    // Run the function code as CloudFront would, on a request with a spoofed header.
    const handler = new Function(`${properties.FunctionCode}; return handler;`)() as (event: unknown) => {
      headers: Record<string, { value: string }>;
    };
    const forwarded = handler({
      request: { headers: { host: { value: 'sho.rt' }, 'x-forwarded-host': { value: 'evil.example' } } },
    });
    expect(forwarded.headers['x-forwarded-host']).toEqual({ value: 'sho.rt' });
    expect(handler({ request: { headers: { 'x-forwarded-host': { value: 'evil.example' } } } }).headers['x-forwarded-host']).toBeUndefined();
  });

  it('passes the viewer IP to the origin in true-client-ip, dropping spoofed client-address headers', () => {
    // The managed AllViewerExceptHostHeader policy forwards viewer headers only: CloudFront never adds
    // CloudFront-Viewer-Address to the origin request, so the function must carry the viewer IP itself.
    const code = viewerFunction().FunctionCode;
    const handler = new Function(`${code}; return handler;`)() as (event: unknown) => {
      headers: Record<string, { value: string } | undefined>;
    };
    const spoofed = {
      host: { value: 'sho.rt' },
      'true-client-ip': { value: '192.0.2.1' },
      'cloudfront-viewer-address': { value: '192.0.2.1:443' },
    };
    for (const ip of ['203.0.113.9', '2001:db8:1:2::7']) {
      const headers = handler({ viewer: { ip }, request: { headers: { ...spoofed } } }).headers;
      expect(headers['true-client-ip']).toEqual({ value: ip });
      expect(headers['cloudfront-viewer-address']).toBeUndefined();
    }
    expect(handler({ request: { headers: { ...spoofed } } }).headers['true-client-ip']).toBeUndefined();
    // Plain ES5 that runs in both CloudFront Functions runtimes: no arrow functions, let/const or templates.
    expect(code).not.toMatch(/=>|\blet\b|\bconst\b|`/);
  });

  it('outputs the distribution URL, the API URL, and the click log a backfill reads', () => {
    template.hasOutput('DistributionUrl', {
      Value: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [logicalId(edge.distribution), 'DomainName'] }]] },
    });
    template.hasOutput('ApiUrl', { Value: { 'Fn::GetAtt': [logicalId(edge.httpApi), 'ApiEndpoint'] } });
    template.hasOutput('RedirectLogGroupName', { Value: { Ref: logicalId(edge.redirectFunction.logGroup) } });
  });
});
