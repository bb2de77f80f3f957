/**
 * The whole pipeline on one machine: emulators, the template's tables and queues, the
 * unchanged handlers, and the AWS plumbing between them (HTTP API, event source
 * mappings, schedules, TTL); for tests, faults injected between triggers and handlers
 * (LOCAL_FAULTS) and a route that runs a schedule on demand.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { type KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { createEdgeFront, edgeBehaviorFromTemplate, type EdgeFront } from './edge/edge-front';
import { standardLogDeliveryFromTemplate, startStandardLogDelivery, type StandardLogDelivery } from './edge/standard-log-delivery';
import { EdgeKeyValueStore } from './edge/key-value-store';
import { startDynamoDbLocal } from './emulators/dynamodb-local';
import { startKeyValueStoreApi, type KeyValueStoreApi } from './emulators/key-value-store-api';
import { kinesisClient, startKinesis } from './emulators/kinesis';
import { startSqs } from './emulators/sqs';
import { controlHandler } from './control';
import { type FaultPlan, injectFaults, realtimeLogRecordLoss } from './faults';
import { httpRoutesFromTemplate, startHttpFront, type HttpFront } from './http-front';
import type { FunctionPool } from './lambda/function-pool';
import { buildBootstrap, createFunctionPools, functionDefinitions, type EndpointOverrides, type FunctionDefinition } from './lambda/functions';
import { DynamoDbStreamPoller } from './pollers/dynamodb-stream-poller';
import { KinesisStreamPoller } from './pollers/kinesis-stream-poller';
import { SqsPoller } from './pollers/sqs-poller';
import { provision, type Provisioned } from './provision';
import { Scheduler } from './scheduler';
import { ADMIN_OWNER, ENV, LOCAL_ACCOUNT_ID, LOCAL_CREDENTIALS, LOCAL_REGION } from '../lambdas/contract';
import { KEY_VALUE_STORE_ENDPOINT_VARIABLE } from '../lambdas/shared/clients/key-value-store';
import { createLinkIfAbsent, releaseAllFromEdge } from '../lambdas/tables/links';
import { referencedLogicalId, resolveIntrinsics, resourcesOfType, synthesizeTemplate } from './template';
import { TtlSweeper } from './ttl-sweeper';
import { asRecord, type CfnTemplate, type LocalFunction, type Stoppable } from './types';

export const PROJECT_ROOT = path.resolve(__dirname, '..');
export const DEMO_CODE = 'demo';
export const DEMO_URL = 'https://example.com/';
/** A clean stop waits this long for accepted clicks to reach the tables. */
const DRAIN_TIMEOUT_MS = 10_000;
/** Lambda retries a failed SQS batch after the visibility timeout; locally, after a second. */
const LOCAL_RETRY_DELAY_SECONDS = 1;
const DEFAULT_TTL_SWEEP_INTERVAL_SECONDS = 60;
/** How long an environment may sit idle before it is reclaimed (AWS gives no fixed time). */
const DEFAULT_IDLE_SECONDS = 60;
/**
 * The local account's concurrency: AWS's default quota is 1,000, but that many Node.js processes
 * would swamp a laptop; past the limit a synchronous invocation is throttled, as on AWS.
 */
const DEFAULT_CONCURRENCY_LIMIT = 64;
/** How long the local standard-log delivery holds lines before it writes them (CloudFront's usually takes up to an hour). */
const DEFAULT_STANDARD_LOG_DELAY_SECONDS = 60;
/** The distribution id in local standard-log object keys (CloudFront's ids are 13 or 14 upper-case characters). */
const LOCAL_DISTRIBUTION_ID = 'ELOCALEDGE0001';

export interface LocalStackOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly dataDir: string;
  readonly apiKey: string;
  readonly trustProxy: boolean;
  readonly log: (line: string) => void;
  /** Faults injected between triggers and handlers (LOCAL_FAULTS); none when absent. */
  readonly faults?: FaultPlan;
  /** CDK context for the in-process synth (e.g. `reportingTimeZone`), as `-c key=value` gives it on deploy. */
  readonly context?: Readonly<Record<string, string>>;
  /** Prints the functions' own log lines too (LOCAL_VERBOSE=1); otherwise one REPORT line per invocation. */
  readonly verbose?: boolean;
  /** Receives each function's own log lines, printed or not (a bench reads a function's metrics from them). */
  readonly functionOutput?: (functionName: string, line: string) => void;
  /** Endpoint variables replaced for some functions (LOCAL_ENDPOINTS): a proxy in front of an emulator, for fault tests. */
  readonly endpointOverrides?: EndpointOverrides;
}

export interface LocalStack extends Stoppable {
  readonly baseUrl: string;
  readonly dynamodbPid: number;
  /** Every function of the template, with its own resolved variables, as its environments run it. */
  readonly functions: readonly FunctionDefinition[];
  /** What every function's environments get besides their own variables: region, credentials, endpoints, the API key. */
  readonly functionEnvironment: Readonly<Record<string, string>>;
  /** Edge mode only: the real-time logs' stream on kinesalite, to read the records the edge wrote. */
  readonly clickStream?: { readonly endpoint: string; readonly streamName: string };
}

/** Written to `<dataDir>/local-stack.json` for tests and tools; holds no secret. */
export interface LocalStackDescription {
  readonly baseUrl: string;
  readonly dynamodbEndpoint: string;
  readonly dynamodbPid: number;
  readonly sqsEndpoint: string;
  readonly region: string;
  readonly tables: Readonly<Record<string, string>>;
  readonly queues: Readonly<Record<string, string>>;
  /** Edge mode only: the local KeyValueStore's data-plane API and the store's ARN, to read what kvs-sync wrote. */
  readonly keyValueStore?: { readonly endpoint: string; readonly arn: string };
}

interface Poller extends Stoppable {
  start(): void;
  /** False when the timeout passed with work left. */
  drain(timeoutMs: number): Promise<boolean>;
}

interface Clients {
  readonly dynamo: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly sqs: SQSClient;
  /** fauxqs's S3, path-style: the standard-log delivery's bucket. */
  readonly s3: S3Client;
  /** Only when the template has a Kinesis stream (the edge mode's click stream). */
  readonly kinesis?: KinesisClient;
}

function createClients(dynamodbEndpoint: string, sqsEndpoint: string, kinesisEndpoint: string | undefined): Clients {
  const common = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  return {
    dynamo: new DynamoDBClient({ ...common, endpoint: dynamodbEndpoint }),
    streams: new DynamoDBStreamsClient({ ...common, endpoint: dynamodbEndpoint }),
    sqs: new SQSClient({ ...common, endpoint: sqsEndpoint }),
    s3: new S3Client({ ...common, endpoint: sqsEndpoint, forcePathStyle: true }),
    ...(kinesisEndpoint === undefined ? {} : { kinesis: kinesisClient(kinesisEndpoint) }),
  };
}

function optionalNumber(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function functionFor(reference: unknown, functions: ReadonlyMap<string, LocalFunction>, owner: string): LocalFunction {
  const logicalId = referencedLogicalId(reference);
  const fn = logicalId ? functions.get(logicalId) : undefined;
  if (!fn) throw new Error(`${owner} does not target a Lambda function of this stack`);
  return fn;
}

/** One poller per AWS::Lambda::EventSourceMapping, with the mapping's own settings. */
function createPollers(
  template: CfnTemplate,
  provisioned: Provisioned,
  functions: ReadonlyMap<string, LocalFunction>,
  clients: Clients,
  dataDir: string,
  log: (line: string) => void,
): { queuePollers: Poller[]; streamPollers: Poller[] } {
  const queuePollers: Poller[] = [];
  const streamPollers: Poller[] = [];
  for (const { logicalId, resource } of resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')) {
    const properties = asRecord(resource.Properties);
    const fn = functionFor(properties.FunctionName, functions, `Event source mapping ${logicalId}`);
    const sourceId = referencedLogicalId(properties.EventSourceArn) ?? '';
    const reportBatchItemFailures =
      Array.isArray(properties.FunctionResponseTypes) && properties.FunctionResponseTypes.includes('ReportBatchItemFailures');
    const maxBatchingWindowSeconds = optionalNumber(properties.MaximumBatchingWindowInSeconds) ?? 0;
    const queue = provisioned.queues[sourceId];
    const table = provisioned.tables[sourceId];
    const kinesisStream = provisioned.streams[sourceId];
    /** What the mapping sets for any stream source, DynamoDB or Kinesis. */
    const streamSettings = () => {
      const onFailureArn = resolveIntrinsics(asRecord(asRecord(properties.DestinationConfig).OnFailure).Destination, provisioned.physical);
      const onFailureQueue = Object.values(provisioned.queues).find((candidate) => candidate.queueArn === onFailureArn);
      if (onFailureArn !== undefined && !onFailureQueue) {
        throw new Error(`Event source mapping ${logicalId}: only SQS on-failure destinations are emulated locally`);
      }
      return {
        fn,
        // Lambda's default for both stream sources.
        batchSize: optionalNumber(properties.BatchSize) ?? 100,
        maxBatchingWindowSeconds,
        reportBatchItemFailures,
        bisectBatchOnFunctionError: properties.BisectBatchOnFunctionError === true,
        maximumRetryAttempts: optionalNumber(properties.MaximumRetryAttempts) ?? -1,
        maximumRecordAgeSeconds: optionalNumber(properties.MaximumRecordAgeInSeconds) ?? -1,
        onFailure: onFailureQueue
          ? async (failureRecord: unknown) => {
              await clients.sqs.send(new SendMessageCommand({ QueueUrl: onFailureQueue.queueUrl, MessageBody: JSON.stringify(failureRecord) }));
              log(`Event source mapping ${logicalId}: a failed batch went to ${onFailureQueue.queueUrl}`);
            }
          : undefined,
        checkpointFile: path.join(dataDir, 'stream-checkpoints', `${logicalId}.json`),
        region: LOCAL_REGION,
        tumblingWindowSeconds: optionalNumber(properties.TumblingWindowInSeconds) ?? 0,
      };
    };
    if (queue) {
      queuePollers.push(
        new SqsPoller({
          sqs: clients.sqs,
          queueUrl: queue.queueUrl,
          queueArn: queue.queueArn,
          fn,
          batchSize: optionalNumber(properties.BatchSize) ?? 10,
          maxBatchingWindowSeconds,
          reportBatchItemFailures,
          maxConcurrency: optionalNumber(asRecord(properties.ScalingConfig).MaximumConcurrency) ?? 1000,
          retryDelaySeconds: LOCAL_RETRY_DELAY_SECONDS,
          region: LOCAL_REGION,
        }),
      );
    } else if (table?.streamArn) {
      const filters = asRecord(properties.FilterCriteria).Filters;
      const filterPatterns = (Array.isArray(filters) ? filters : [])
        .map((filter) => asRecord(filter).Pattern)
        .filter((pattern): pattern is string => typeof pattern === 'string');
      streamPollers.push(
        new DynamoDbStreamPoller({
          ...streamSettings(),
          streams: clients.streams,
          streamArn: table.streamArn,
          startingPosition: properties.StartingPosition === 'TRIM_HORIZON' ? 'TRIM_HORIZON' : 'LATEST',
          filterPatterns,
        }),
      );
    } else if (kinesisStream !== undefined && clients.kinesis !== undefined) {
      const timestamp = properties.StartingPositionTimestamp;
      streamPollers.push(
        new KinesisStreamPoller({
          ...streamSettings(),
          kinesis: clients.kinesis,
          streamArn: kinesisStream.streamArn,
          startingPosition:
            properties.StartingPosition === 'AT_TIMESTAMP' && typeof timestamp === 'number'
              ? { atTimestamp: new Date(timestamp * 1000) }
              : properties.StartingPosition === 'TRIM_HORIZON'
                ? 'TRIM_HORIZON'
                : 'LATEST',
        }),
      );
    } else {
      throw new Error(`Event source mapping ${logicalId}: its source ${sourceId} is neither a queue, a table stream nor a Kinesis stream of this stack`);
    }
  }
  return { queuePollers, streamPollers };
}

/** EventBridge rules and EventBridge Scheduler schedules that invoke a function of this stack. */
function createScheduler(template: CfnTemplate, functions: ReadonlyMap<string, LocalFunction>): Scheduler {
  const parseInput = (input: unknown): unknown => (typeof input === 'string' ? JSON.parse(input) : undefined);
  const rules = resourcesOfType(template, 'AWS::Events::Rule').flatMap(({ logicalId, resource }) => {
    const properties = asRecord(resource.Properties);
    if (typeof properties.ScheduleExpression !== 'string' || properties.State === 'DISABLED') return [];
    const expression = properties.ScheduleExpression;
    return (Array.isArray(properties.Targets) ? properties.Targets : []).map((target) => ({
      name: `${logicalId}/${String(asRecord(target).Id)}`,
      expression,
      fn: functionFor(asRecord(target).Arn, functions, `Rule ${logicalId}`),
      input: parseInput(asRecord(target).Input),
    }));
  });
  const schedules = resourcesOfType(template, 'AWS::Scheduler::Schedule').flatMap(({ logicalId, resource }) => {
    const properties = asRecord(resource.Properties);
    if (typeof properties.ScheduleExpression !== 'string' || properties.State === 'DISABLED') return [];
    const target = asRecord(properties.Target);
    return [
      {
        name: logicalId,
        expression: properties.ScheduleExpression,
        fn: functionFor(target.Arn, functions, `Schedule ${logicalId}`),
        input: parseInput(target.Input),
      },
    ];
  });
  return new Scheduler({ schedules: [...rules, ...schedules] });
}

/** The links table is the one the functions are told to read links from. */
async function ensureDemoLink(dynamo: DynamoDBClient, linksTableName: string | undefined): Promise<void> {
  if (!linksTableName) throw new Error(`No function reads ${ENV.linksTable}: cannot create the demo link`);
  // False when a previous run created it, which stays as it is. Through the stack's own client: the
  // functions' endpoint variables are not this process's.
  await createLinkIfAbsent(linksTableName, { code: DEMO_CODE, url: DEMO_URL, owner: ADMIN_OWNER }, DynamoDBDocumentClient.from(dynamo));
}

function positiveNumberFromEnvironment(name: string, fallback: number, integer = false): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new Error(`${name} must be a positive ${integer ? 'whole ' : ''}number, got "${raw}"`);
  }
  return value;
}

/** Each SQS event source's maximum concurrency, by the function it invokes; and every function a trigger invokes asynchronously. */
function triggerLimits(template: CfnTemplate): { limits: Map<string, number>; asynchronous: Set<string> } {
  const limits = new Map<string, number>();
  const asynchronous = new Set<string>();
  for (const { resource } of resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')) {
    const properties = asRecord(resource.Properties);
    const functionId = referencedLogicalId(properties.FunctionName);
    if (functionId === undefined) continue;
    asynchronous.add(functionId);
    const maximum = optionalNumber(asRecord(properties.ScalingConfig).MaximumConcurrency);
    if (maximum !== undefined) limits.set(functionId, (limits.get(functionId) ?? 0) + maximum);
  }
  for (const type of ['AWS::Events::Rule', 'AWS::Scheduler::Schedule']) {
    for (const { resource } of resourcesOfType(template, type)) {
      const properties = asRecord(resource.Properties);
      const targets = Array.isArray(properties.Targets) ? properties.Targets : [properties.Target];
      for (const target of targets) {
        const functionId = referencedLogicalId(asRecord(target).Arn);
        if (functionId !== undefined) asynchronous.add(functionId);
      }
    }
  }
  return { limits, asynchronous };
}

/**
 * The template's KeyValueStore, in memory, behind the data-plane API the functions reach through their
 * endpoint variable; none without one (origin mode). Like kinesalite's streams it starts empty at each start.
 */
async function startLocalKeyValueStore(
  template: CfnTemplate,
  provisioned: Provisioned,
): Promise<{ store: EdgeKeyValueStore; api: KeyValueStoreApi; arn: string } | undefined> {
  const stores = resourcesOfType(template, 'AWS::CloudFront::KeyValueStore');
  if (stores.length === 0) return undefined;
  if (stores.length > 1) throw new Error('Only one CloudFront KeyValueStore is emulated locally');
  const arn = provisioned.physical[stores[0].logicalId]?.attributes.Arn;
  if (arn === undefined) throw new Error(`KeyValueStore ${stores[0].logicalId} was not provisioned`);
  const store = new EdgeKeyValueStore();
  return { store, api: await startKeyValueStoreApi({ store, arn }), arn };
}

/**
 * The edge in front of the HTTP front when the distribution's default behavior runs a CloudFront Function
 * with a KeyValueStore (edge mode), writing real-time log records into the behavior's click stream.
 */
function createLocalEdgeFront(
  template: CfnTemplate,
  provisioned: Provisioned,
  store: EdgeKeyValueStore | undefined,
  kinesis: KinesisClient | undefined,
  extras: { readonly standardLogDelivery?: StandardLogDelivery; readonly loseRealtimeRecord?: (requestId: string) => boolean },
  log: (line: string) => void,
): EdgeFront | undefined {
  const behavior = edgeBehaviorFromTemplate(template);
  if (behavior === undefined) return undefined;
  if (store === undefined) throw new Error(`CloudFront Function ${behavior.functionId}: its KeyValueStore is not in the template`);
  const streamId = behavior.realtimeLogStreamId;
  const stream = streamId === undefined ? undefined : provisioned.streams[streamId];
  if (streamId !== undefined && (stream === undefined || kinesis === undefined)) {
    throw new Error(`The click stream ${streamId} of the real-time log config was not provisioned`);
  }
  return createEdgeFront({
    behavior,
    keyValueStore: store,
    putLogRecord:
      stream === undefined || kinesis === undefined
        ? undefined
        : async (record, partitionKey) => {
            await kinesis.send(new PutRecordCommand({ StreamName: stream.streamName, PartitionKey: partitionKey, Data: Buffer.from(record, 'utf8') }));
          },
    keepStandardLogLine: extras.standardLogDelivery === undefined ? undefined : (line, at) => extras.standardLogDelivery?.add(line, at),
    loseRealtimeRecord: extras.loseRealtimeRecord,
    log,
  });
}

/**
 * The template's standard-log delivery into its bucket on fauxqs S3, notifying its queue, when it has one
 * (edge mode); LOCAL_STANDARD_LOG_DELAY_SECONDS sets the delay.
 */
async function startLocalStandardLogDelivery(
  template: CfnTemplate,
  provisioned: Provisioned,
  clients: Clients,
  log: (line: string) => void,
): Promise<StandardLogDelivery | undefined> {
  const target = standardLogDeliveryFromTemplate(template);
  if (target === undefined) return undefined;
  const queue = provisioned.queues[target.queueId];
  if (queue === undefined) throw new Error(`The standard-log notification queue ${target.queueId} was not provisioned`);
  return startStandardLogDelivery({
    s3: clients.s3,
    sqs: clients.sqs,
    // S3 bucket names are lower case.
    bucketName: target.bucketId.toLowerCase(),
    queueUrl: queue.queueUrl,
    region: LOCAL_REGION,
    accountId: LOCAL_ACCOUNT_ID,
    distributionId: LOCAL_DISTRIBUTION_ID,
    delaySeconds: positiveNumberFromEnvironment('LOCAL_STANDARD_LOG_DELAY_SECONDS', DEFAULT_STANDARD_LOG_DELAY_SECONDS),
    log,
  });
}

async function stopAll(stoppables: readonly Stoppable[], log: (line: string) => void): Promise<void> {
  for (const stoppable of stoppables) {
    await stoppable.stop().catch((error: unknown) => log(`While stopping: ${error instanceof Error ? error.message : String(error)}`));
  }
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { dataDir, log } = options;
  /** Stopped in reverse order, on a failed start-up or after the clean stop has drained the pipeline. */
  const started: Stoppable[] = [];
  const fail = async (step: string, error: unknown): Promise<never> => {
    await stopAll([...started].reverse(), log);
    throw new Error(`Local stack failed while ${step}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  };
  const step = async <T>(description: string, action: () => Promise<T>): Promise<T> => {
    try {
      return await action();
    } catch (error) {
      return fail(description, error);
    }
  };

  await mkdir(path.join(dataDir, 'stream-checkpoints'), { recursive: true });
  const idleSeconds = positiveNumberFromEnvironment('LOCAL_IDLE_SECONDS', DEFAULT_IDLE_SECONDS);
  const accountLimit = positiveNumberFromEnvironment('LOCAL_CONCURRENCY_LIMIT', DEFAULT_CONCURRENCY_LIMIT, true);
  // The JVM boots in its own process while esbuild bundles the functions here.
  const dynamodbStarting = startDynamoDbLocal({ dataDir: path.join(dataDir, 'dynamodb') });
  const assemblyDir = path.join(dataDir, 'cdk.out');
  const synthesized = (async () => {
    await rm(assemblyDir, { recursive: true, force: true });
    return synthesizeTemplate(options.context, assemblyDir);
  })();
  // Awaited below; if DynamoDB Local fails first, its failure is the one reported.
  synthesized.catch(() => undefined);
  const dynamodb = await step('starting DynamoDB Local', () => dynamodbStarting);
  started.push(dynamodb);
  const template = await step('synthesizing and bundling the CDK app', () => synthesized);
  const sqsEmulator = await step('starting fauxqs', () => startSqs({ region: LOCAL_REGION }));
  started.push(sqsEmulator);
  // kinesalite only for a template with a Kinesis stream: origin mode has none.
  const kinesisEmulator =
    resourcesOfType(template, 'AWS::Kinesis::Stream').length === 0 ? undefined : await step('starting kinesalite', () => startKinesis({}));
  if (kinesisEmulator !== undefined) started.push(kinesisEmulator);
  const clients = createClients(dynamodb.endpoint, sqsEmulator.endpoint, kinesisEmulator?.endpoint);
  started.push({
    stop: async () => {
      clients.dynamo.destroy();
      clients.streams.destroy();
      clients.sqs.destroy();
      clients.s3.destroy();
      clients.kinesis?.destroy();
    },
  });

  const provisioned = await step(`creating tables, queues and streams (data folder ${dataDir})`, () =>
    provision(template, clients.dynamo, clients.sqs, log, clients.kinesis),
  );

  const standardLogDelivery = await step('starting the standard-log delivery', () =>
    startLocalStandardLogDelivery(template, provisioned, clients, log),
  );
  if (standardLogDelivery !== undefined) started.push(standardLogDelivery);

  const keyValueStore = await step('starting the KeyValueStore API', () => startLocalKeyValueStore(template, provisioned));
  if (keyValueStore !== undefined) started.push(keyValueStore.api);

  // The front listens first so PUBLIC_BASE_URL (read when handlers load) names the real port.
  const front: HttpFront = await step('starting the HTTP front', () =>
    startHttpFront({ port: options.port, trustProxy: options.trustProxy, log }),
  );
  started.push(front);
  const baseUrl = `http://127.0.0.1:${front.port}`;

  const definitions = await step('reading functions', async () => functionDefinitions(template, provisioned.physical, assemblyDir));
  const bootstrapFile = await step('building the Lambda runtime client', () => buildBootstrap(path.join(dataDir, 'runtime')));
  const { limits, asynchronous } = triggerLimits(template);
  const functionEnvironment = {
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB_STREAMS: dynamodb.endpoint,
    AWS_ENDPOINT_URL_SQS: sqsEmulator.endpoint,
    AWS_ENDPOINT_URL_S3: sqsEmulator.endpoint,
    ...(keyValueStore === undefined ? {} : { [KEY_VALUE_STORE_ENDPOINT_VARIABLE]: keyValueStore.api.endpoint }),
    [ENV.apiKey]: options.apiKey,
    [ENV.publicBaseUrl]: baseUrl,
  };
  const pools: ReadonlyMap<string, FunctionPool> = createFunctionPools({
    definitions,
    bootstrapFile,
    localEnvironment: functionEnvironment,
    endpointOverrides: options.endpointOverrides ?? {},
    eventSourceLimits: limits,
    asynchronous,
    accountLimit,
    idleSeconds,
    report: (line) => process.stdout.write(`${line}\n`),
    output: (functionName, line) => {
      options.functionOutput?.(functionName, line);
      if (options.verbose) process.stdout.write(`[${functionName}] ${line}\n`);
    },
  });
  started.push({ stop: () => Promise.all([...pools.values()].map((pool) => pool.stop())).then(() => undefined) });
  const functions = await step('applying LOCAL_FAULTS', () =>
    injectFaults(pools, {
      plan: options.faults ?? {},
      countsFile: path.join(dataDir, 'local-faults.json'),
      print: (line) => process.stdout.write(`${line}\n`),
      log,
    }),
  );
  const linksTableName = definitions.find((definition) => definition.environment[ENV.linksTable])?.environment[ENV.linksTable];
  await step('creating the demo link', () => ensureDemoLink(clients.dynamo, linksTableName));
  if (keyValueStore !== undefined && linksTableName) {
    // The store starts empty, the links table does not: no link is held until the sync puts it again.
    await step('clearing the links held by the previous run\'s store', () => releaseAllFromEdge(linksTableName, DynamoDBDocumentClient.from(clients.dynamo)));
  }

  const { queuePollers, streamPollers, scheduler, sweeper, routes, edgeFront } = await step('wiring triggers', async () => ({
    routes: httpRoutesFromTemplate(template, functions),
    edgeFront: createLocalEdgeFront(
      template,
      provisioned,
      keyValueStore?.store,
      clients.kinesis,
      { standardLogDelivery, loseRealtimeRecord: realtimeLogRecordLoss(options.faults ?? {}, (line) => process.stdout.write(`${line}\n`)) },
      log,
    ),
    ...createPollers(template, provisioned, functions, clients, dataDir, log),
    scheduler: createScheduler(template, functions),
    sweeper: new TtlSweeper({
      dynamo: clients.dynamo,
      tables: Object.values(provisioned.tables).flatMap(({ tableName, ttlAttribute }) =>
        ttlAttribute ? [{ tableName, ttlAttribute }] : [],
      ),
      intervalSeconds: positiveNumberFromEnvironment('TTL_SWEEP_INTERVAL_SECONDS', DEFAULT_TTL_SWEEP_INTERVAL_SECONDS),
    }),
  }));
  // A stream poller's start reads its checkpoint file and can throw: each one started so far is stopped with the rest.
  await step('starting the event source pollers, schedules and TTL sweeper', async () => {
    for (const trigger of [...queuePollers, ...streamPollers, scheduler, sweeper]) {
      trigger.start();
      started.push(trigger);
    }
  });
  front.serve(routes, controlHandler({ apiKey: options.apiKey, scheduler }), edgeFront);

  const description: LocalStackDescription = {
    baseUrl,
    dynamodbEndpoint: dynamodb.endpoint,
    dynamodbPid: dynamodb.pid,
    sqsEndpoint: sqsEmulator.endpoint,
    region: LOCAL_REGION,
    tables: Object.fromEntries(Object.entries(provisioned.tables).map(([id, table]) => [id, table.tableName])),
    queues: Object.fromEntries(Object.entries(provisioned.queues).map(([id, queue]) => [id, queue.queueUrl])),
    ...(keyValueStore === undefined ? {} : { keyValueStore: { endpoint: keyValueStore.api.endpoint, arn: keyValueStore.arn } }),
  };
  await step('writing local-stack.json', () =>
    writeFile(path.join(dataDir, 'local-stack.json'), `${JSON.stringify(description, null, 2)}\n`),
  );

  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    // Stop accepting clicks first; the HTTP functions' environments then end their invoke phases and are
    // shut down as Lambda reclaims them (SIGTERM to a runtime with an extension: the redirect sends what it holds).
    await front.stop();
    // The real-time log records and standard-log objects of the last requests, before the pollers drain.
    await edgeFront?.stop();
    await standardLogDelivery?.stop();
    await Promise.all([...pools.values()].filter((pool) => !asynchronous.has(pool.name)).map((pool) => pool.stop()));
    // Clicks flow queue -> enrichment -> raw table -> stream -> aggregation: drain in that order.
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    for (const group of [queuePollers, streamPollers]) {
      const drained = await Promise.all(group.map((poller) => poller.drain(Math.max(0, deadline - Date.now()))));
      if (drained.includes(false)) log('stopping with clicks still in flight (the drain timed out)');
    }
    await stopAll([...started].reverse(), log);
  };
  const clickStreamId = edgeBehaviorFromTemplate(template)?.realtimeLogStreamId;
  const clickStream = clickStreamId === undefined ? undefined : provisioned.streams[clickStreamId];
  return {
    baseUrl,
    dynamodbPid: dynamodb.pid,
    functions: definitions,
    functionEnvironment,
    ...(clickStream === undefined || kinesisEmulator === undefined
      ? {}
      : { clickStream: { endpoint: kinesisEmulator.endpoint, streamName: clickStream.streamName } }),
    stop: () => (stopping ??= stop()),
  };
}
