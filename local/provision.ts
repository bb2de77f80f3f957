/**
 * Creates the template's tables and queues on the emulators, from the same definitions
 * CloudFormation deploys. Safe to run on every start: DynamoDB Local keeps its data in
 * the data folder, fauxqs starts empty.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  type AttributeDefinition,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  type LocalSecondaryIndex,
  type StreamViewType,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { CreateStreamCommand, DescribeStreamSummaryCommand, type KinesisClient, ResourceNotFoundException } from '@aws-sdk/client-kinesis';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from '../lambdas/contract';
import { referencedLogicalId, resourcesOfType, type PhysicalResource } from './template';
import { asRecord, type CfnResource, type CfnTemplate } from './types';

export interface ProvisionedTable {
  readonly tableName: string;
  readonly ttlAttribute?: string;
  readonly streamArn?: string;
}

export interface ProvisionedQueue {
  readonly queueUrl: string;
  readonly queueArn: string;
}

export interface ProvisionedStream {
  readonly streamName: string;
  readonly streamArn: string;
}

export interface Provisioned {
  readonly tables: Readonly<Record<string, ProvisionedTable>>;
  readonly queues: Readonly<Record<string, ProvisionedQueue>>;
  readonly streams: Readonly<Record<string, ProvisionedStream>>;
  /** What Ref / Fn::GetAtt yield locally, for tables, queues and functions. */
  readonly physical: Readonly<Record<string, PhysicalResource>>;
}

/** A table definition as the DynamoDB API wants it, from CloudFormation's (which uses the same shapes). */
export function tableDefinition(logicalId: string, resource: CfnResource) {
  const properties = asRecord(resource.Properties);
  const stream = asRecord(properties.StreamSpecification);
  const ttl = asRecord(properties.TimeToLiveSpecification);
  // Throughput has no meaning on an on-demand table.
  const withoutThroughput = (indexes: unknown): Record<string, unknown>[] | undefined =>
    Array.isArray(indexes) && indexes.length > 0
      ? indexes.map((index: unknown) => {
          const { ProvisionedThroughput: _throughput, ...rest } = asRecord(index);
          return rest;
        })
      : undefined;
  return {
    TableName: logicalId,
    KeySchema: properties.KeySchema as KeySchemaElement[],
    AttributeDefinitions: properties.AttributeDefinitions as AttributeDefinition[],
    GlobalSecondaryIndexes: withoutThroughput(properties.GlobalSecondaryIndexes) as GlobalSecondaryIndex[] | undefined,
    LocalSecondaryIndexes: withoutThroughput(properties.LocalSecondaryIndexes) as LocalSecondaryIndex[] | undefined,
    BillingMode: 'PAY_PER_REQUEST' as const,
    StreamSpecification:
      typeof stream.StreamViewType === 'string'
        ? { StreamEnabled: true, StreamViewType: stream.StreamViewType as StreamViewType }
        : undefined,
    ttlAttribute: ttl.Enabled === true && typeof ttl.AttributeName === 'string' ? ttl.AttributeName : undefined,
  };
}

type TableDefinition = ReturnType<typeof tableDefinition>;

/** Key schema (with attribute types) and local index names: what cannot change on an existing table. */
function shapeOf(
  keySchema: readonly KeySchemaElement[] | undefined,
  attributes: readonly AttributeDefinition[] | undefined,
  localIndexNames: readonly (string | undefined)[],
): string {
  const types = new Map((attributes ?? []).map((attribute) => [attribute.AttributeName, attribute.AttributeType]));
  const keys = (keySchema ?? []).map((key) => `${key.AttributeName}:${types.get(key.AttributeName)}:${key.KeyType}`);
  return `${keys.join(',')} local indexes[${[...localIndexNames].sort().join(',')}]`;
}

/** What makes an existing table unusable under the template, or undefined when it is usable. */
function incompatibility(definition: TableDefinition, existing: TableDescription): string | undefined {
  const names = (definitions: readonly { IndexName?: string }[] | undefined): (string | undefined)[] =>
    (definitions ?? []).map((index) => index.IndexName);
  const wanted = shapeOf(definition.KeySchema, definition.AttributeDefinitions, names(definition.LocalSecondaryIndexes));
  const actual = shapeOf(existing.KeySchema, existing.AttributeDefinitions, names(existing.LocalSecondaryIndexes));
  return wanted === actual ? undefined : `${definition.TableName} has ${actual}, the stack now defines ${wanted}`;
}

/**
 * DynamoDB cannot change a table's keys or local indexes in place, and dropping a table would lose its
 * data unasked: every such table is reported before anything is created or changed. (Global indexes
 * can change: reconcileGlobalIndexes does, as a CloudFormation update does.)
 */
function checkCompatible(definitions: readonly TableDefinition[], existing: ReadonlyMap<string, TableDescription>): void {
  const problems = definitions.flatMap((definition) => {
    const table = existing.get(definition.TableName);
    const problem = table === undefined ? undefined : incompatibility(definition, table);
    return problem === undefined ? [] : [problem];
  });
  if (problems.length === 0) return;
  throw new Error(
    `Local table(s) created from an older template, whose keys or local indexes differ from the stack's: ${problems.join('; ')}. ` +
      'Nothing was changed or deleted. Move the data folder (DATA_DIR) aside, e.g. `mv .data .data.old`, ' +
      'to start with new tables, or run the older version to read the old data.',
  );
}

/** A global index's name, keys and projection: an index whose signature changed is dropped and built again. */
function indexSignature(index: { IndexName?: string; KeySchema?: readonly KeySchemaElement[]; Projection?: unknown }): string {
  return JSON.stringify([index.IndexName, index.KeySchema?.map((key) => [key.AttributeName, key.KeyType]), index.Projection]);
}

const INDEX_WAIT_MS = 30_000;

/** Waits until no global index of the table is being created or deleted. */
async function indexesSettled(dynamo: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  const deadline = Date.now() + INDEX_WAIT_MS;
  for (;;) {
    const table = await describeTable(dynamo, tableName);
    if ((table?.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE')) return table;
    if (Date.now() > deadline) throw new Error(`Local table ${tableName}: its global indexes did not become active within ${INDEX_WAIT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Global indexes are derived from the items, so they are added and dropped in place, one at a time,
 * as a CloudFormation update does: a new index (the links' byOwner one) needs no new data folder.
 */
async function reconcileGlobalIndexes(
  dynamo: DynamoDBClient,
  definition: TableDefinition,
  existing: TableDescription,
  log: (line: string) => void,
): Promise<TableDescription | undefined> {
  const wanted = definition.GlobalSecondaryIndexes ?? [];
  const actual = existing.GlobalSecondaryIndexes ?? [];
  const wantedSignatures = new Set(wanted.map(indexSignature));
  const actualSignatures = new Set(actual.map(indexSignature));
  const dropped = actual.filter((index) => !wantedSignatures.has(indexSignature(index)));
  const added = wanted.filter((index) => !actualSignatures.has(indexSignature(index)));
  if (dropped.length === 0 && added.length === 0) return existing;
  const update = async (change: NonNullable<ConstructorParameters<typeof UpdateTableCommand>[0]['GlobalSecondaryIndexUpdates']>[number]) => {
    await dynamo.send(new UpdateTableCommand({ TableName: definition.TableName, AttributeDefinitions: definition.AttributeDefinitions, GlobalSecondaryIndexUpdates: [change] }));
    await indexesSettled(dynamo, definition.TableName);
  };
  for (const index of dropped) await update({ Delete: { IndexName: index.IndexName } });
  for (const index of added) await update({ Create: index });
  log(
    `Local table ${definition.TableName}: global indexes [${actual.map((index) => index.IndexName).join(', ')}] -> ` +
      `[${wanted.map((index) => index.IndexName).join(', ')}], as the template now defines them`,
  );
  return describeTable(dynamo, definition.TableName);
}

async function describeTable(dynamo: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await dynamo.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    if (error instanceof Error && error.name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

/**
 * A stream's view type cannot be changed in place (DynamoDB answers "Table already has an enabled
 * stream"): the stream is disabled, then enabled again with the template's view type, which gives
 * the table a new stream, as a CloudFormation update does.
 */
async function reconcileStream(
  dynamo: DynamoDBClient,
  definition: TableDefinition,
  existing: TableDescription,
  log: (line: string) => void,
): Promise<TableDescription | undefined> {
  const wanted = definition.StreamSpecification?.StreamViewType;
  const actual = existing.StreamSpecification?.StreamEnabled === true ? existing.StreamSpecification.StreamViewType : undefined;
  if (wanted === actual) return existing;
  const update = (StreamSpecification: { StreamEnabled: boolean; StreamViewType?: StreamViewType }) =>
    dynamo.send(new UpdateTableCommand({ TableName: definition.TableName, StreamSpecification }));
  if (actual !== undefined) await update({ StreamEnabled: false });
  if (wanted !== undefined) await update({ StreamEnabled: true, StreamViewType: wanted });
  log(
    `Local table ${definition.TableName}: stream ${actual ?? 'off'} -> ${wanted ?? 'off'}, as the template now defines it` +
      (actual !== undefined ? ' (records left unread in the old stream are not delivered)' : ''),
  );
  return describeTable(dynamo, definition.TableName);
}

/** The TTL attribute cannot be switched while TTL is on ("TimeToLive is active on a different AttributeName"): off first. */
async function reconcileTimeToLive(
  dynamo: DynamoDBClient,
  definition: TableDefinition,
  existed: boolean,
  log: (line: string) => void,
): Promise<void> {
  const wanted = definition.ttlAttribute;
  const { TimeToLiveDescription } = await dynamo.send(new DescribeTimeToLiveCommand({ TableName: definition.TableName }));
  const status = TimeToLiveDescription?.TimeToLiveStatus;
  const actual = status === 'ENABLED' || status === 'ENABLING' ? TimeToLiveDescription?.AttributeName : undefined;
  if (wanted === actual) return;
  const update = (Enabled: boolean, AttributeName: string) =>
    dynamo.send(new UpdateTimeToLiveCommand({ TableName: definition.TableName, TimeToLiveSpecification: { Enabled, AttributeName } }));
  if (actual !== undefined) await update(false, actual);
  if (wanted !== undefined) await update(true, wanted);
  // A table created just now has no TTL yet: only a change to an existing table is news.
  if (existed) log(`Local table ${definition.TableName}: TTL attribute ${actual ?? 'off'} -> ${wanted ?? 'off'}, as the template now defines it`);
}

/** `existing` has passed checkCompatible. */
async function provisionTable(
  dynamo: DynamoDBClient,
  definition: TableDefinition,
  existing: TableDescription | undefined,
  log: (line: string) => void,
): Promise<TableDescription> {
  const { ttlAttribute: _ttlAttribute, ...createInput } = definition;
  let table: TableDescription | undefined;
  if (existing) {
    const indexed = await reconcileGlobalIndexes(dynamo, definition, existing, log);
    table = indexed && (await reconcileStream(dynamo, definition, indexed, log));
  } else {
    table = (await dynamo.send(new CreateTableCommand(createInput))).TableDescription;
  }
  await reconcileTimeToLive(dynamo, definition, existing !== undefined, log);
  if (!table) throw new Error(`DynamoDB Local returned no description for table ${definition.TableName}`);
  return table;
}

/** SQS queue attributes CloudFormation sets from these properties; the rest (encryption) has no local meaning. */
const QUEUE_ATTRIBUTES = [
  'DelaySeconds',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'ReceiveMessageWaitTimeSeconds',
  'VisibilityTimeout',
  'FifoQueue',
  'ContentBasedDeduplication',
] as const;

/** Dead-letter queues first, so a redrive policy can name its target's ARN. */
export function queuesInCreationOrder(template: CfnTemplate): { logicalId: string; resource: CfnResource }[] {
  const queues = resourcesOfType(template, 'AWS::SQS::Queue');
  const byId = new Map(queues.map((queue) => [queue.logicalId, queue]));
  const ordered: { logicalId: string; resource: CfnResource }[] = [];
  const visiting = new Set<string>();
  const visit = (logicalId: string): void => {
    const queue = byId.get(logicalId);
    if (!queue || ordered.includes(queue)) return;
    if (visiting.has(logicalId)) throw new Error(`Queue ${logicalId} is part of a redrive cycle`);
    visiting.add(logicalId);
    const target = referencedLogicalId(asRecord(queue.resource.Properties?.RedrivePolicy).deadLetterTargetArn);
    if (target) visit(target);
    ordered.push(queue);
  };
  for (const { logicalId } of queues) visit(logicalId);
  return ordered;
}

async function provisionQueue(
  sqs: SQSClient,
  logicalId: string,
  resource: CfnResource,
  queues: Readonly<Record<string, ProvisionedQueue>>,
): Promise<ProvisionedQueue> {
  const properties = asRecord(resource.Properties);
  const attributes: Record<string, string> = {};
  for (const name of QUEUE_ATTRIBUTES) {
    if (properties[name] !== undefined) attributes[name] = String(properties[name]);
  }
  const redrive = asRecord(properties.RedrivePolicy);
  if (Object.keys(redrive).length > 0) {
    const targetId = referencedLogicalId(redrive.deadLetterTargetArn);
    const target = targetId ? queues[targetId] : undefined;
    if (!target) throw new Error(`Queue ${logicalId}: its dead-letter queue is not a queue of this stack`);
    attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: target.queueArn, maxReceiveCount: redrive.maxReceiveCount });
  }
  const queueName = properties.FifoQueue === true ? `${logicalId}.fifo` : logicalId;
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: queueName, Attributes: attributes }));
  if (!QueueUrl) throw new Error(`fauxqs returned no URL for queue ${queueName}`);
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  const queueArn = Attributes?.QueueArn;
  if (!queueArn) throw new Error(`fauxqs returned no ARN for queue ${queueName}`);
  return { queueUrl: QueueUrl, queueArn };
}

/**
 * Creates what is missing; an existing table whose global indexes, stream or TTL differ from the template
 * is brought in line (its keys and local indexes cannot be: that fails with an error asking to move the
 * data folder aside, and nothing is dropped).
 */
export async function provision(
  template: CfnTemplate,
  dynamo: DynamoDBClient,
  sqs: SQSClient,
  log: (line: string) => void = () => undefined,
  kinesis?: KinesisClient,
): Promise<Provisioned> {
  const tables: Record<string, ProvisionedTable> = {};
  const streams: Record<string, ProvisionedStream> = {};
  const queues: Record<string, ProvisionedQueue> = {};
  const physical: Record<string, PhysicalResource> = {};

  const definitions = resourcesOfType(template, 'AWS::DynamoDB::Table').map(({ logicalId, resource }) => tableDefinition(logicalId, resource));
  const existing = new Map<string, TableDescription>();
  for (const definition of definitions) {
    const table = await describeTable(dynamo, definition.TableName);
    if (table) existing.set(definition.TableName, table);
  }
  checkCompatible(definitions, existing);
  for (const definition of definitions) {
    const logicalId = definition.TableName;
    const table = await provisionTable(dynamo, definition, existing.get(logicalId), log);
    const streamArn = definition.StreamSpecification ? table.LatestStreamArn : undefined;
    tables[logicalId] = { tableName: logicalId, ttlAttribute: definition.ttlAttribute, streamArn };
    physical[logicalId] = {
      ref: logicalId,
      attributes: { ...(table.TableArn ? { Arn: table.TableArn } : {}), ...(streamArn ? { StreamArn: streamArn } : {}) },
    };
  }

  for (const { logicalId, resource } of queuesInCreationOrder(template)) {
    const queue = await provisionQueue(sqs, logicalId, resource, queues);
    queues[logicalId] = queue;
    physical[logicalId] = {
      ref: queue.queueUrl,
      attributes: { Arn: queue.queueArn, QueueUrl: queue.queueUrl, QueueName: queue.queueArn.split(':').at(-1) ?? logicalId },
    };
  }

  for (const { logicalId, resource } of resourcesOfType(template, 'AWS::Kinesis::Stream')) {
    if (kinesis === undefined) throw new Error(`The template has a Kinesis stream (${logicalId}) and no Kinesis emulator was given`);
    const stream = await provisionStream(kinesis, logicalId, resource);
    streams[logicalId] = stream;
    physical[logicalId] = { ref: stream.streamName, attributes: { Arn: stream.streamArn } };
  }

  // A KeyValueStore is the local stack's in-memory one (local/edge/key-value-store.ts), named by this ARN in
  // its data-plane API; the client reads only the account id out of it (its endpoint rules' host prefix).
  for (const { logicalId, resource } of resourcesOfType(template, 'AWS::CloudFront::KeyValueStore')) {
    const name = asRecord(resource.Properties).Name;
    physical[logicalId] = {
      ref: typeof name === 'string' ? name : logicalId,
      attributes: { Arn: keyValueStoreArn(logicalId), Id: logicalId },
    };
  }

  // Functions exist locally under their logical IDs.
  for (const { logicalId } of resourcesOfType(template, 'AWS::Lambda::Function')) {
    physical[logicalId] = {
      ref: logicalId,
      attributes: { Arn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${logicalId}` },
    };
  }
  return { tables, queues, streams, physical };
}

/** The local ARN of the KeyValueStore with this logical ID. */
export const keyValueStoreArn = (logicalId: string): string => `arn:aws:cloudfront::${LOCAL_ACCOUNT_ID}:key-value-store/${logicalId}`;

/**
 * An on-demand stream starts with 4 shards on AWS (4 MB/s of writes), a provisioned one with its
 * ShardCount: https://docs.aws.amazon.com/streams/latest/dev/how-do-i-size-a-stream.html
 */
const ON_DEMAND_INITIAL_SHARDS = 4;

/** The stream named as the template names it (else by its logical ID), created unless it exists. */
async function provisionStream(kinesis: KinesisClient, logicalId: string, resource: CfnResource): Promise<ProvisionedStream> {
  const properties = asRecord(resource.Properties);
  const streamName = typeof properties.Name === 'string' ? properties.Name : logicalId;
  const onDemand = asRecord(properties.StreamModeDetails).StreamMode === 'ON_DEMAND';
  const shardCount = typeof properties.ShardCount === 'number' ? properties.ShardCount : onDemand ? ON_DEMAND_INITIAL_SHARDS : 1;
  const describe = async (): Promise<string | undefined> => {
    try {
      return (await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: streamName }))).StreamDescriptionSummary?.StreamARN;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  };
  let streamArn = await describe();
  if (streamArn === undefined) {
    await kinesis.send(new CreateStreamCommand({ StreamName: streamName, ShardCount: shardCount }));
    streamArn = await describe();
  }
  if (streamArn === undefined) throw new Error(`Kinesis stream ${streamName} was created but cannot be described`);
  return { streamName, streamArn };
}
