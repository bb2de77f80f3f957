import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type { Construct } from 'constructs';
import { EDGE_LOG_FIELDS } from '../../lambdas/domain/edge-log';
import { PipelinePart } from './pipeline-part';

/** The viewer-request function of redirectMode=edge, deployed as it is (docs/edge.md). */
export const EDGE_REDIRECT_FUNCTION_FILE = 'lambdas/edge/redirect-function.js';

/** The real-time log fields a click is read from: the ones the click consumer parses (lambdas/domain/edge-log.ts). */
export const CLICK_LOG_FIELDS: readonly string[] = EDGE_LOG_FIELDS;

/** Every viewer request is a click to count, so none is sampled away. */
const EVERY_REQUEST_PERCENT = 100;

export interface EdgeRedirectsProps {
  /**
   * Real-time log fields sent to {@link EdgeRedirects.clickStream}, in record order (at least one).
   * @default CLICK_LOG_FIELDS
   */
  readonly logFields?: readonly string[];
}

/**
 * Stage 1 at the edge (redirectMode=edge): a CloudFront Function answers the 302 for links its KeyValueStore
 * holds and prepares every other request for the origin, as the plain viewer function does. It goes on the
 * distribution's default behavior as the viewer-request function ({@link redirectFunction}), with
 * {@link clickLogConfig} as that behavior's real-time log config, which sends a record of every request to
 * {@link clickStream}. What fills the store and what reads the stream are wired elsewhere.
 */
export class EdgeRedirects extends PipelinePart {
  /** Short code to destination URL, the function's only store (a function can have one). */
  readonly keyValueStore: cloudfront.KeyValueStore;
  readonly redirectFunction: cloudfront.Function;
  /** A record per request on the default behavior, kept 24 hours, encrypted with the AWS-managed key. */
  readonly clickStream: kinesis.Stream;
  /** What CloudFront assumes to write into {@link clickStream}, and nothing else. */
  readonly clickLogRole: iam.Role;
  readonly clickLogConfig: cloudfront.RealtimeLogConfig;

  constructor(scope: Construct, id: string, props: EdgeRedirectsProps = {}) {
    super(scope, id);
    const logFields = props.logFields ?? CLICK_LOG_FIELDS;
    if (logFields.length === 0) throw new Error('logFields must name at least one real-time log field');

    this.keyValueStore = new cloudfront.KeyValueStore(this, 'RedirectKeyValueStore', {
      comment: 'Short code to destination URL, read by the edge redirect function',
    });
    this.redirectFunction = new cloudfront.Function(this, 'EdgeRedirectFunction', {
      runtime: cloudfront.FunctionRuntime.JS_2_0,
      comment: 'Answers redirects from the key value store; prepares every other request for the origin',
      code: cloudfront.FunctionCode.fromFile({ filePath: EDGE_REDIRECT_FUNCTION_FILE }),
      keyValueStore: this.keyValueStore,
    });

    this.clickStream = new kinesis.Stream(this, 'ClickStream', {
      // Scales with the clicks without shard planning; the consumer reads within seconds, so a day is plenty.
      streamMode: kinesis.StreamMode.ON_DEMAND,
      retentionPeriod: Duration.hours(24),
      encryption: kinesis.StreamEncryption.MANAGED,
      // Records live a day at most and the consumer has read them by then: nothing to keep.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.clickLogRole = new iam.Role(this, 'ClickLogRole', {
      description: 'Assumed by CloudFront to put real-time log records into the click stream',
      assumedBy: new iam.ServicePrincipal('cloudfront.amazonaws.com'),
    });
    // Endpoint grants the role what AWS documents for real-time logs (DescribeStreamSummary, DescribeStream,
    // PutRecord, PutRecords) on this stream alone; the AWS-managed key needs no KMS grant.
    this.clickLogConfig = new cloudfront.RealtimeLogConfig(this, 'ClickLogConfig', {
      endPoints: [cloudfront.Endpoint.fromKinesisStream(this.clickStream, this.clickLogRole)],
      fields: [...logFields],
      samplingRate: EVERY_REQUEST_PERCENT,
    });
    // CloudFront checks the role's access to the stream when the config is created: the policy must exist first.
    this.clickLogConfig.node.addDependency(this.clickLogRole);
  }
}
