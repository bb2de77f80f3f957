import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { DASHBOARD_CSP, DASHBOARD_SECURITY_HEADERS, dashboardFiles } from '../../lib/dashboard-files';
import { actionsOf, type PolicyStatement, synthesize } from './synth';

const { stack, template, logicalId } = synthesize();
const { dashboard, edge } = stack;

interface Behavior {
  readonly PathPattern: string;
  readonly TargetOriginId: string;
  readonly [property: string]: unknown;
}

interface Origin {
  readonly Id: string;
  readonly DomainName: unknown;
  readonly OriginAccessControlId?: unknown;
  readonly S3OriginConfig?: unknown;
}

const distributionConfig = (): { CacheBehaviors: Behavior[]; Origins: Origin[]; DefaultCacheBehavior: Behavior } =>
  template.toJSON().Resources[logicalId(edge.distribution)].Properties.DistributionConfig;

describe('DashboardSite', () => {
  it('keeps the files in a private, encrypted, TLS-only bucket that goes with the stack', () => {
    template.hasResource('AWS::S3::Bucket', {
      Properties: {
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      },
      DeletionPolicy: 'Delete',
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logicalId(dashboard.bucket) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('lets only the distribution read the bucket, through an origin access control', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logicalId(dashboard.bucket) },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudfront.amazonaws.com' },
            Action: 's3:GetObject',
            Condition: {
              StringEquals: {
                'AWS:SourceArn': Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([{ Ref: logicalId(edge.distribution) }])] }),
              },
            },
          }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' },
    });
    const bucketOrigins = distributionConfig().Origins.filter((origin) => origin.S3OriginConfig !== undefined);
    expect(bucketOrigins).toEqual([
      expect.objectContaining({
        DomainName: { 'Fn::GetAtt': [logicalId(dashboard.bucket), 'RegionalDomainName'] },
        OriginAccessControlId: expect.anything(),
        S3OriginConfig: { OriginAccessIdentity: '' },
      }),
    ]);
  });

  it('serves /dashboard and /dashboard/* from the bucket, and nothing else: /dashboard2 stays a short code', () => {
    const { CacheBehaviors, Origins, DefaultCacheBehavior } = distributionConfig();
    const bucketOrigin = Origins.find((origin) => origin.S3OriginConfig !== undefined)?.Id;
    expect(CacheBehaviors.map((behavior) => behavior.PathPattern)).toEqual(['/dashboard', '/dashboard/*']);
    for (const behavior of CacheBehaviors) {
      expect(behavior).toEqual(
        expect.objectContaining({
          TargetOriginId: bucketOrigin,
          AllowedMethods: ['GET', 'HEAD'],
          ViewerProtocolPolicy: 'redirect-to-https',
          // Managed-CachingOptimized: the deployment invalidates these paths.
          CachePolicyId: '658327ea-f89d-4fab-a63d-7e88639e58f6',
          ResponseHeadersPolicyId: { Ref: logicalId(dashboard.responseHeadersPolicy) },
          FunctionAssociations: [{ EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [logicalId(dashboard.indexFunction), 'FunctionARN'] } }],
        }),
      );
    }
    expect(DefaultCacheBehavior.TargetOriginId).not.toBe(bucketOrigin);
  });

  it("maps the page's own paths to its index at the edge, and leaves its files alone", () => {
    const { FunctionCode, FunctionConfig } = template.toJSON().Resources[logicalId(dashboard.indexFunction)].Properties as {
      FunctionCode: string;
      FunctionConfig: { Runtime: string };
    };
    expect(FunctionConfig.Runtime).toBe('cloudfront-js-2.0');
    const handler = new Function(`${FunctionCode}; return handler;`)() as (event: unknown) => { uri: string };
    const uriFor = (uri: string): string => handler({ request: { uri, headers: {} } }).uri;
    expect(uriFor('/dashboard')).toBe('/dashboard/index.html');
    expect(uriFor('/dashboard/')).toBe('/dashboard/index.html');
    expect(uriFor('/dashboard/app.js')).toBe('/dashboard/app.js');
    expect(uriFor('/dashboard/vendor/uPlot.esm.js')).toBe('/dashboard/vendor/uPlot.esm.js');
    // Plain ES5 that runs in both CloudFront Functions runtimes.
    expect(FunctionCode).not.toMatch(/=>|\blet\b|\bconst\b|`/);
  });

  it('sends the same CSP and security headers as the local front, with HSTS on top', () => {
    template.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: Match.objectLike({
        SecurityHeadersConfig: {
          ContentSecurityPolicy: { ContentSecurityPolicy: DASHBOARD_SECURITY_HEADERS['content-security-policy'], Override: true },
          ContentTypeOptions: { Override: true },
          FrameOptions: { FrameOption: DASHBOARD_SECURITY_HEADERS['x-frame-options'], Override: true },
          ReferrerPolicy: { ReferrerPolicy: DASHBOARD_SECURITY_HEADERS['referrer-policy'], Override: true },
          StrictTransportSecurity: { AccessControlMaxAgeSec: 31_536_000, IncludeSubdomains: true, Override: true },
        },
      }),
    });
    expect(DASHBOARD_SECURITY_HEADERS['x-content-type-options']).toBe('nosniff');
    expect(DASHBOARD_CSP).toMatch(/script-src 'self';/);
    expect(DASHBOARD_CSP).not.toMatch(/unsafe/);
  });

  it("deploys the page's files and uPlot under vendor/, not the type-checking files beside them", () => {
    const deployed = readdirSync(dashboard.siteFolder, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => path.relative(dashboard.siteFolder, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
      .sort();
    expect(deployed).toEqual([...dashboardFiles().keys()].sort());
    expect(deployed).toEqual(expect.arrayContaining(['index.html', 'app.js', 'dashboard.css', 'vendor/uPlot.esm.js', 'vendor/uPlot.min.css']));
    expect(deployed.filter((file) => /tsconfig|\.d\.ts$/.test(file))).toEqual([]);
    const source = readFileSync(path.resolve(__dirname, '../../node_modules/uplot/dist/uPlot.esm.js'));
    expect(readFileSync(path.join(dashboard.siteFolder, 'vendor/uPlot.esm.js')).equals(source)).toBe(true);
  });

  it('copies the files under dashboard/ at deploy time, prunes old ones, invalidates the edge, and empties the bucket on delete', () => {
    template.hasResourceProperties('Custom::CDKBucketDeployment', {
      DestinationBucketName: { Ref: logicalId(dashboard.bucket) },
      DestinationBucketKeyPrefix: 'dashboard/',
      Prune: true,
      RetainOnDelete: false,
      DistributionId: { Ref: logicalId(edge.distribution) },
      DistributionPaths: ['/dashboard', '/dashboard/*'],
      SystemMetadata: { 'cache-control': 'max-age=0, s-maxage=86400' },
    });
  });

  it("outputs the page's address on the distribution", () => {
    template.hasOutput('DashboardUrl', {
      Value: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [logicalId(edge.distribution), 'DomainName'] }, '/dashboard']] },
    });
  });

  it('runs the deployment with its own role and log group: no managed policy, logs kept a month', () => {
    const resources = template.toJSON().Resources;
    expect(resources[logicalId(dashboard.deploymentRole)].Properties.ManagedPolicyArns).toBeUndefined();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Role: { 'Fn::GetAtt': [logicalId(dashboard.deploymentRole), 'Arn'] },
      LoggingConfig: { LogGroup: { Ref: logicalId(dashboard.deploymentLogGroup) } },
    });
    expect(resources[logicalId(dashboard.deploymentLogGroup)]).toEqual(
      expect.objectContaining({ Properties: { RetentionInDays: 30 }, DeletionPolicy: 'Delete' }),
    );
  });

  it('lets the deployment touch only its log group, the dashboard bucket, the asset bucket and invalidations', () => {
    const policies = Object.values(
      template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: logicalId(dashboard.deploymentRole) }] } }),
    ) as { Properties: { PolicyDocument: { Statement: PolicyStatement[] } } }[];
    const statements = policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    const touches = (statement: PolicyStatement, what: string): boolean => JSON.stringify(statement.Resource).includes(what);
    for (const statement of statements) {
      if (statement.Resource === '*') {
        expect(actionsOf(statement)).toEqual(['cloudfront:GetInvalidation', 'cloudfront:CreateInvalidation']);
      } else {
        expect(
          [logicalId(dashboard.deploymentLogGroup), logicalId(dashboard.bucket), 'cdk-hnb659fds-assets'].some((what) => touches(statement, what)),
        ).toBe(true);
      }
    }
    expect(statements.some((statement) => touches(statement, logicalId(dashboard.bucket)) && actionsOf(statement).includes('s3:PutObject'))).toBe(true);
  });
});
