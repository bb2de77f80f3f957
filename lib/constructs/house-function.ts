import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ENV, FUNCTION_METADATA, METRICS_NAMESPACE } from '../../lambdas/contract';

/** The project root (where package.json and package-lock.json live): every path in this file is relative to it. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/** A file copied into the bundle next to index.mjs. */
export interface HouseFunctionAsset {
  /** Source path, relative to the project root (POSIX separators). */
  readonly from: string;
  /** Destination path, relative to the bundle root (POSIX separators). */
  readonly to: string;
}

export interface HouseFunctionProps {
  /** Handler file, relative to the project root, e.g. `lambdas/handlers/redirect.ts`; it exports `handler`. */
  readonly entry: string;
  /** `POWERTOOLS_SERVICE_NAME`: the function's name in logs and metrics. */
  readonly serviceName: string;
  readonly description?: string;
  /**
   * Memory in MB (also buys CPU).
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the log group when the stack is deleted.
   * @default RemovalPolicy.DESTROY (logs are operational, and may hold User-Agents: they should not outlive the app)
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * V8 options for the function's Node.js, added to NODE_OPTIONS after `--enable-source-maps`.
   * @default []
   */
  readonly v8Options?: readonly string[];
  /**
   * Function-specific environment variables (the house ones are added).
   * @default {}
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Files copied into the bundle after esbuild.
   * @default []
   */
  readonly assets?: readonly HouseFunctionAsset[];
  /**
   * Period of the EventBridge schedule that invokes the function, for a scheduled function. A scheduled event
   * carries no work (the work waits in DynamoDB), so the next run is the retry: Lambda does not retry a failed
   * run, drops an invocation older than one period, and keeps no DLQ.
   * @default - not scheduled: invoked synchronously (HTTP API) or by event source mappings
   */
  readonly schedulePeriod?: Duration;
}

const toPosix = (p: string): string => p.split(path.sep).join('/');

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Lets CommonJS dependencies call `require` inside the ESM bundle. */
const CREATE_REQUIRE_BANNER =
  "import { createRequire as __houseCreateRequire } from 'node:module'; const require = __houseCreateRequire(import.meta.url);";

/** Why no function has X-Ray active tracing; README ("No X-Ray tracing") and docs/design.md (Tracing) give the measurements. */
const NO_TRACING =
  'Tracing is off on purpose: active tracing alone records no SDK call, only what the REPORT lines and Lambda metrics give, at $5.00 per million traces (nearly every redirect below one a second); SDK subsegments need Powertools Tracer, measured at +34% bundle and +19 to +39 ms per cold import on the redirect path. Per-stage metrics, request-id logs and alarms cover every stage.';

/**
 * The one way this app creates a Lambda function: Node.js 22 on arm64, an ESM bundle with
 * source maps, no X-Ray tracing, an explicit log group, a role with no managed policies, and
 * metadata naming the handler file and assets the function is made of.
 */
export class HouseFunction extends NodejsFunction {
  /** `POWERTOOLS_SERVICE_NAME`, the `service` dimension of the function's Powertools metrics. */
  readonly serviceName: string;
  /** The execution role this construct creates (typed as what it is: NodejsFunction types it IRole | undefined). */
  declare readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: HouseFunctionProps) {
    const entry = path.resolve(PROJECT_ROOT, props.entry);
    const assets = props.assets ?? [];
    for (const asset of assets) {
      if (!existsSync(path.resolve(PROJECT_ROOT, asset.from))) {
        throw new Error(`${id}: asset ${asset.from} does not exist (paths are relative to ${PROJECT_ROOT})`);
      }
    }
    const logGroup = new logs.LogGroup(scope, `${id}LogGroup`, {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    // Our own role, so logging is granted on this log group only instead of AWSLambdaBasicExecutionRole's logs:* on every group.
    const role = new iam.Role(scope, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${props.serviceName} function`,
    });
    logGroup.grantWrite(role);

    super(scope, id, {
      entry,
      handler: 'handler',
      description: props.description,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: lambda.Tracing.DISABLED,
      retryAttempts: props.schedulePeriod === undefined ? undefined : 0,
      maxEventAge: props.schedulePeriod,
      logGroup,
      role,
      environment: {
        ...props.environment,
        NODE_OPTIONS: ['--enable-source-maps', ...(props.v8Options ?? [])].join(' '),
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        [ENV.metricsNamespace]: METRICS_NAMESPACE,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        format: OutputFormat.ESM,
        target: 'node22',
        mainFields: ['module', 'main'],
        banner: CREATE_REQUIRE_BANNER,
        // The SDK is bundled, not taken from the runtime: the version is the lockfile's, AWS's advice
        // (docs/lambda-runtime.md), and the local stack runs this very bundle with nothing beside it.
        externalModules: [],
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) =>
            assets.map((asset) => {
              const target = path.posix.join(outputDir, asset.to);
              return `mkdir -p ${shellQuote(path.posix.dirname(target))} && cp ${shellQuote(path.posix.join(inputDir, asset.from))} ${shellQuote(target)}`;
            }),
        },
      },
    });

    this.serviceName = props.serviceName;

    const cfnFunction = this.node.defaultChild as lambda.CfnFunction;
    cfnFunction.addMetadata(FUNCTION_METADATA.entry, toPosix(path.relative(PROJECT_ROOT, entry)));
    cfnFunction.addMetadata(
      FUNCTION_METADATA.assets,
      assets.map((asset) => ({ from: asset.from, to: asset.to })),
    );

    const pinnedRuntime =
      'Pinned to nodejs22.x on purpose: the esbuild target is node22 and the code also runs on the local Node 20; a newer runtime is a deliberate upgrade.';
    Validations.of(this).acknowledge(
      { id: 'AwsSolutions-L1', reason: pinnedRuntime },
      { id: 'Serverless-LambdaLatestVersion', reason: pinnedRuntime },
      { id: 'Serverless-LambdaTracing', reason: NO_TRACING },
    );
    if (props.schedulePeriod === undefined) {
      Validations.of(this).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason: 'Not invoked asynchronously: HTTP API (synchronous) or event source mappings, whose failures go to the source queue DLQ or the stream failure queue.',
      });
    } else {
      const scheduled =
        'Invoked by an EventBridge schedule whose event carries no work: the work stays in DynamoDB until a run succeeds, the next scheduled run is the retry, and alarms watch errors and lag. A failed scheduled event holds nothing to replay.';
      Validations.of(this).acknowledge(
        { id: 'Serverless-LambdaDLQ', reason: scheduled },
        { id: 'Serverless-LambdaAsyncFailureDestination', reason: scheduled },
      );
    }
  }

  /** A metric the function publishes with Powertools Metrics (namespace ClickAnalytics, dimension `service`). */
  metricPublished(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: this.serviceName },
      ...props,
    });
  }
}
