import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BOOTSTRAP_QUALIFIER_CONTEXT, CfnOutput, DefaultStackSynthesizer, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, Source } from 'aws-cdk-lib/aws-s3-deployment';
import type { Construct, IConstruct } from 'constructs';
import { DASHBOARD_CSP, DASHBOARD_INDEX, DASHBOARD_PATH, dashboardFiles } from '../dashboard-files';
import { PipelinePart } from './pipeline-part';

/**
 * Viewer-request function of the dashboard's behaviors: the page's own paths name its index object
 * (S3 knows no directory index). Plain ES5, which both CloudFront Functions runtimes run.
 */
const DASHBOARD_INDEX_CODE = [
  'function handler(event) {',
  '  var request = event.request;',
  `  if (request.uri === '${DASHBOARD_PATH}' || request.uri === '${DASHBOARD_PATH}/') request.uri = '${DASHBOARD_PATH}/${DASHBOARD_INDEX}';`,
  '  return request;',
  '}',
].join('\n');

export interface DashboardSiteProps {
  /** The distribution that serves the page, beside the redirects and the API it calls on the same origin. */
  readonly distribution: cloudfront.Distribution;
  /**
   * Retention of the log of the function that copies the files into the bucket at deploy time.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly deploymentLogRetention?: logs.RetentionDays;
}

/**
 * The site's files gathered into one folder, as they are served (the vendor files under vendor/). Named
 * after their content, so a synth reuses the folder an earlier one made and the asset hash stays put.
 */
function stagedSite(): string {
  // Sorted by code unit, not by locale: the hash must not depend on the machine.
  const files = [...dashboardFiles()].sort(([a], [b]) => (a < b ? -1 : 1));
  const hash = createHash('sha256');
  for (const [key, file] of files) hash.update(`${key}\0`).update(readFileSync(file.source)).update('\0');
  const folder = path.join(tmpdir(), `click-analytics-dashboard-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(folder)) return folder;
  // Written aside and renamed into place, so a synth running beside this one never sees half a folder.
  const partial = `${folder}.${process.pid}.partial`;
  rmSync(partial, { recursive: true, force: true });
  for (const [key, file] of files) {
    const target = path.join(partial, key);
    mkdirSync(path.dirname(target), { recursive: true });
    copyFileSync(file.source, target);
  }
  try {
    renameSync(partial, folder);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(folder)) throw error;
  }
  return folder;
}

/**
 * The dashboard page (`dashboard/`, lib/dashboard-files.ts) on the distribution: a private, encrypted,
 * TLS-only bucket read by CloudFront alone through an origin access control, two behaviors for the page's
 * paths (`/dashboard` and `/dashboard/*`, not `/dashboard*`, which would take codes such as `dashboard2`
 * from the redirect), a function that maps the page's own paths to its index, and the security headers
 * with the same CSP the local front sends. The files are copied in at deploy time, and the edge caches
 * are invalidated then. Outputs the page's address.
 */
export class DashboardSite extends PipelinePart {
  readonly bucket: s3.Bucket;
  readonly indexFunction: cloudfront.Function;
  readonly responseHeadersPolicy: cloudfront.ResponseHeadersPolicy;
  readonly deployment: BucketDeployment;
  /** The folder deployed: the site's files as they are served below `/dashboard/`. */
  readonly siteFolder: string;
  /** The role of CDK's deploy-time function that copies the files in; BucketDeployment makes its grants. */
  readonly deploymentRole: iam.Role;
  readonly deploymentLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: DashboardSiteProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'DashboardBucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Only redeployable files: the deployment empties the bucket when the stack goes, so it can go too.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: "The bucket holds the dashboard's static files, the same for every viewer, and only CloudFront reads it; server access logs would need a bucket of their own and record nothing about anyone's data.",
    });

    this.indexFunction = new cloudfront.Function(this, 'DashboardIndexFunction', {
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      comment: `Maps ${DASHBOARD_PATH} and ${DASHBOARD_PATH}/ to ${DASHBOARD_PATH}/${DASHBOARD_INDEX}`,
      code: cloudfront.FunctionCode.fromInline(DASHBOARD_INDEX_CODE),
    });
    this.responseHeadersPolicy = new cloudfront.ResponseHeadersPolicy(this, 'DashboardHeaders', {
      comment: 'The dashboard: strict CSP, no framing, no sniffing, no referrer, HSTS',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: DASHBOARD_CSP, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
      },
    });
    const origin = S3BucketOrigin.withOriginAccessControl(this.bucket);
    const behavior: cloudfront.AddBehaviorOptions = {
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
      cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
      responseHeadersPolicy: this.responseHeadersPolicy,
      functionAssociations: [{ function: this.indexFunction, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
    };
    for (const pathPattern of [DASHBOARD_PATH, `${DASHBOARD_PATH}/*`]) props.distribution.addBehavior(pathPattern, origin, behavior);

    // The deployment's own role and log group: no managed policy (AWSLambdaBasicExecutionRole's logs:* on every group).
    this.deploymentLogGroup = new logs.LogGroup(this, 'DashboardDeploymentLogs', {
      retention: props.deploymentLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.deploymentRole = new iam.Role(this, 'DashboardDeploymentRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: "Copies the dashboard's files into its bucket at deploy time",
    });
    this.deploymentLogGroup.grantWrite(this.deploymentRole);
    this.siteFolder = stagedSite();
    this.deployment = new BucketDeployment(this, 'DashboardDeployment', {
      sources: [Source.asset(this.siteFolder)],
      destinationBucket: this.bucket,
      destinationKeyPrefix: `${DASHBOARD_PATH.slice(1)}/`,
      // Browsers ask again each time (an unchanged file is a 304); the edge keeps a file a day, or until the next deploy invalidates it.
      cacheControl: [CacheControl.maxAge(Duration.seconds(0)), CacheControl.sMaxAge(Duration.days(1))],
      distribution: props.distribution,
      distributionPaths: [DASHBOARD_PATH, `${DASHBOARD_PATH}/*`],
      retainOnDelete: false,
      role: this.deploymentRole,
      logGroup: this.deploymentLogGroup,
    });
    this.acknowledgeDeploymentFindings();

    new CfnOutput(this, 'DashboardUrl', {
      description: 'The dashboard page: paste an owner key from npm run keys',
      value: `https://${props.distribution.distributionDomainName}${DASHBOARD_PATH}`,
    });
  }

  /**
   * The objects of the bootstrap asset bucket, as cdk-nag names them in a finding: the account and region
   * as the stack has them (`<AWS::Region>` for an environment-agnostic stack, `eu-west-1` for one deployed
   * with a region).
   */
  private assetBucketObjects(): string {
    const stack = Stack.of(this);
    const named = (value: string, pseudo: string): string => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
    const qualifier: unknown = this.node.tryGetContext(BOOTSTRAP_QUALIFIER_CONTEXT);
    const bucket = `cdk-${typeof qualifier === 'string' ? qualifier : DefaultStackSynthesizer.DEFAULT_QUALIFIER}-assets-${named(stack.account, 'AccountId')}-${named(stack.region, 'Region')}`;
    return `arn:<AWS::Partition>:s3:::${bucket}/*`;
  }

  /**
   * BucketDeployment's function is CDK's own (Python, with the AWS CLI as a layer), created once per stack at
   * its top level; CloudFormation invokes it only while deploying. BucketDeployment also makes its grants.
   */
  private acknowledgeDeploymentFindings(): void {
    const role = this.deploymentRole;
    const acknowledge = (scope: IConstruct, reason: string, ids: readonly string[]): void =>
      Validations.of(scope).acknowledge(...ids.map((id) => ({ id, reason })));
    const wildcards = (findings: readonly string[]): string[] => findings.map((finding) => `AwsSolutions-IAM5[${finding}]`);
    acknowledge(
      role,
      'BucketDeployment runs `aws s3 sync --delete` from the zip of the site to the dashboard bucket: it reads that zip, lists and reads both sides, writes, deletes and aborts uploads.',
      wildcards(['Action::s3:GetObject*', 'Action::s3:GetBucket*', 'Action::s3:List*', 'Action::s3:DeleteObject*', 'Action::s3:Abort*']),
    );
    const bucketId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
    acknowledge(role, 'Every object of the dashboard bucket, which holds the site and nothing else: the sync writes and prunes them.', wildcards([`Resource::<${bucketId}.Arn>/*`]));
    acknowledge(
      role,
      "The CDK bootstrap asset bucket's objects: the site's zip is named by its content hash, known only when the asset is published.",
      wildcards([`Resource::${this.assetBucketObjects()}`]),
    );
    acknowledge(
      role,
      'cloudfront:CreateInvalidation and GetInvalidation, as BucketDeployment grants them, to invalidate the dashboard paths once the new files are in.',
      wildcards(['Resource::*']),
    );

    const deployFunction = Stack.of(this)
      .node.findAll()
      .find((construct): construct is lambda.Function => construct instanceof lambda.Function && construct.role === role);
    if (deployFunction === undefined) throw new Error('The dashboard deployment created no function with its role');
    acknowledge(deployFunction, "CDK's BucketDeployment picks its function's Python runtime and ships the handler for it; it runs only during deploys.", [
      'AwsSolutions-L1',
      'Serverless-LambdaLatestVersion',
    ]);
    acknowledge(
      deployFunction,
      'CloudFormation invokes it during a deploy and waits for its answer: a failure fails the deploy and rolls it back, so there is no event to keep or replay, and nothing to trace at run time.',
      ['Serverless-LambdaDLQ', 'Serverless-LambdaTracing', 'Serverless-LambdaAsyncFailureDestination'],
    );
  }
}
