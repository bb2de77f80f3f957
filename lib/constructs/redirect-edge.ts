import { CfnOutput, Duration, Fn, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpStage, LogGroupLogDestination, type ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { HttpOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ENV } from '../../lambdas/contract';
import { clickFactsEnvironment, grantClickFacts, type ClickFacts } from './click-facts';
import { HouseFunction } from './house-function';
import { PipelinePart } from './pipeline-part';

/**
 * The CloudFront viewer-request function. A viewer-sent x-forwarded-host is dropped, so the API never builds
 * short URLs on a spoofed host. The origin request policy forwards viewer headers only, not
 * CloudFront-Viewer-Address, so the viewer IP (event.viewer.ip) travels in true-client-ip; viewer-sent copies
 * of either header are dropped. Plain ES5, which both CloudFront Functions runtimes run.
 */
export const VIEWER_REQUEST_CODE = [
  'function handler(event) {',
  '  var request = event.request;',
  "  delete request.headers['x-forwarded-host'];",
  "  if (request.headers.host) request.headers['x-forwarded-host'] = { value: request.headers.host.value };",
  "  delete request.headers['cloudfront-viewer-address'];",
  "  delete request.headers['true-client-ip'];",
  "  if (event.viewer && event.viewer.ip) request.headers['true-client-ip'] = { value: event.viewer.ip };",
  '  return request;',
  '}',
].join('\n');

/** The click facts: the links the redirect reads, the salts it reads and creates, their settings. */
export interface RedirectEdgeProps extends ClickFacts {
  /** Where the redirect sends each click (SendMessage only). */
  readonly clickQueue: sqs.IQueue;
  /**
   * Retention of the redirect's click log, the backfill source. It holds User-Agents: keep it short.
   * @default logs.RetentionDays.TWO_WEEKS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * CloudFront price class (which edge locations serve clicks).
   * @default cloudfront.PriceClass.PRICE_CLASS_100
   */
  readonly priceClass?: cloudfront.PriceClass;
  /**
   * Steady-state and burst request limits of the HTTP API stage, for every route.
   * @default { rateLimit: 1000, burstLimit: 2000 }
   */
  readonly apiThrottle?: ThrottleSettings;
  /**
   * The viewer-request function of the default behavior. It must prepare requests for the origin as
   * {@link VIEWER_REQUEST_CODE} does (the edge redirect function does, and answers some redirects itself).
   * @default - a function running VIEWER_REQUEST_CODE
   */
  readonly viewerRequestFunction?: cloudfront.IFunction;
  /**
   * Real-time log config of the default behavior, where redirects are served.
   * @default - no real-time logs
   */
  readonly realtimeLogConfig?: cloudfront.IRealtimeLogConfigRef;
}

/**
 * Stage 1: CloudFront (no caching, HTTPS, a viewer-request function that passes on the viewer's host and IP,
 * or in edge mode the edge redirect function, which does that too)
 * in front of an HTTP API (throttled, access-logged without caller identity) whose `GET|HEAD /{code}` routes
 * lead to the redirect function: a 302, with the click sent to the click queue after the response. Outputs
 * the distribution URL, the API URL and the redirect's click log (the backfill source). Other stages add
 * their routes to {@link httpApi}.
 */
export class RedirectEdge extends PipelinePart {
  readonly httpApi: HttpApi;
  /** The HTTP API's `$default` stage, throttled as a whole; routes may set their own, lower limits on it. */
  readonly stage: HttpStage;
  readonly distribution: cloudfront.Distribution;
  readonly viewerRequestFunction: cloudfront.IFunction;
  readonly redirectFunction: HouseFunction;

  constructor(scope: Construct, id: string, props: RedirectEdgeProps) {
    super(scope, id);
    this.redirectFunction = new HouseFunction(this, 'RedirectFunction', {
      entry: 'lambdas/handlers/redirect-function.mts',
      serviceName: 'redirect',
      description: 'GET/HEAD /{code}: 302 to the link, click sent to the click queue',
      // More memory buys CPU, and the redirect is the latency-critical path.
      memorySize: 512,
      timeout: Duration.seconds(5),
      logRetention: props.logRetention ?? logs.RetentionDays.TWO_WEEKS,
      environment: { ...clickFactsEnvironment(props), [ENV.clickQueueUrl]: props.clickQueue.queueUrl },
    });
    grantClickFacts(this.redirectFunction, props);
    // SendMessageBatch is authorised by sqs:SendMessage; grantSendMessages would add GetQueueAttributes and GetQueueUrl.
    props.clickQueue.grant(this.redirectFunction, 'sqs:SendMessage');

    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Short link redirects and the click analytics API',
      createDefaultStage: false,
    });
    const accessLogGroup = new logs.LogGroup(this, 'HttpApiAccessLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, 'HttpApiDefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.apiThrottle ?? { rateLimit: 1000, burstLimit: 2000 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogGroup),
        // No source IP on purpose: no raw IP in any log (docs/design.md).
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            requestTime: '$context.requestTime',
            routeKey: '$context.routeKey',
            status: '$context.status',
            responseLatency: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
    const redirectRoutes = this.httpApi.addRoutes({
      path: '/{code}',
      methods: [HttpMethod.GET, HttpMethod.HEAD],
      integration: new HttpLambdaIntegration('RedirectIntegration', this.redirectFunction),
    });
    for (const route of redirectRoutes) {
      Validations.of(route).acknowledge({ id: 'AwsSolutions-APIG4', reason: 'Short link redirects are public by design.' });
    }

    this.viewerRequestFunction =
      props.viewerRequestFunction ??
      new cloudfront.Function(this, 'ViewerHostFunction', {
        runtime: cloudfront.FunctionRuntime.JS_2_0,
        comment: 'Copies the viewer Host into x-forwarded-host and the viewer IP into true-client-ip',
        code: cloudfront.FunctionCode.fromInline(VIEWER_REQUEST_CODE),
      });
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'Short links and click analytics',
      priceClass: props.priceClass ?? cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: new HttpOrigin(Fn.select(2, Fn.split('/', this.httpApi.apiEndpoint)), {
          protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
          originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
        }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        // Every click must reach the redirect function: nothing is cached at the edge.
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        // API Gateway rejects a foreign Host; this managed policy forwards every other viewer header (with
        // Authorization and what the viewer-request function adds), cookies and the query string. It adds
        // no CloudFront headers: CloudFront-Viewer-Address never reaches the origin, hence true-client-ip.
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
        functionAssociations: [{ function: this.viewerRequestFunction, eventType: cloudfront.FunctionEventType.VIEWER_REQUEST }],
        realtimeLogConfig: props.realtimeLogConfig,
      },
    });
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason: 'Short links are meant to work worldwide; operators who need geo restrictions add them.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason: 'WAF costs a fixed monthly fee; the HTTP API stage is throttled, and operators can attach a web ACL to the distribution.',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason:
          "Redirects and API calls are not cached, so each reaches the HTTP API, whose access log records it; the dashboard's static files, the same for every viewer, are not worth a log of their own.",
      },
      {
        id: 'AwsSolutions-CFR4',
        reason: 'Default CloudFront certificate until the operator adds a custom domain; its minimum TLS version cannot be raised.',
      },
    );

    new CfnOutput(this, 'DistributionUrl', {
      description: 'Short links are served here',
      value: `https://${this.distribution.distributionDomainName}`,
    });
    new CfnOutput(this, 'ApiUrl', { description: 'The HTTP API behind the distribution', value: this.httpApi.apiEndpoint });
    // What `npm run backfill` needs: where the click log is (the click queue's stage outputs where to replay it).
    new CfnOutput(this, 'RedirectLogGroupName', {
      description: 'The click log (one JSON line per click): the backfill source',
      value: this.redirectFunction.logGroup.logGroupName,
    });
  }
}
