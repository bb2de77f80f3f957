/**
 * The API's own tables on DynamoDB Local (links with their byOwner index, keys, request counts), with
 * the keys and index the stack defines, and owner keys made as `npm run keys -- create` makes them.
 */
import { CreateTableCommand, type CreateTableCommandInput, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomBytes } from 'node:crypto';
import { generateApiKey } from '../../../lambdas/domain/api-key';
import { putApiKey } from '../../../lambdas/tables/api-keys';
import { LINKS_BY_EDGE_RECENCY_INDEX, LINKS_BY_OWNER_INDEX } from '../../../lambdas/tables/links';
import { createTable, stringKeys } from '../../fixtures/local/emulators';

export const API_TABLES = {
  LINKS_TABLE_NAME: 'LinksForApiTest',
  API_KEYS_TABLE_NAME: 'ApiKeysForTest',
  API_REQUEST_COUNTS_TABLE_NAME: 'ApiRequestCountsForTest',
} as const;

/**
 * The links table as the stack defines it: the byOwner index, and in edge mode (`edge`) the
 * NEW_AND_OLD_IMAGES stream and the byEdgeRecency index of held links. Returns the stream's ARN, if any.
 */
export async function createLinksTable(dynamo: DynamoDBClient, tableName: string, { edge = false } = {}): Promise<string | undefined> {
  const byOwner = stringKeys(LINKS_BY_OWNER_INDEX.partitionKey, LINKS_BY_OWNER_INDEX.sortKey);
  const byRecency = stringKeys(LINKS_BY_EDGE_RECENCY_INDEX.partitionKey, LINKS_BY_EDGE_RECENCY_INDEX.sortKey);
  const indexes: NonNullable<CreateTableCommandInput['GlobalSecondaryIndexes']> = [
    { IndexName: LINKS_BY_OWNER_INDEX.indexName, KeySchema: byOwner.KeySchema, Projection: { ProjectionType: 'ALL' } },
  ];
  if (edge) {
    indexes.push({
      IndexName: LINKS_BY_EDGE_RECENCY_INDEX.indexName,
      KeySchema: byRecency.KeySchema,
      Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['url'] },
    });
  }
  const { TableDescription } = await dynamo.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: stringKeys('code').KeySchema,
      AttributeDefinitions: [...stringKeys('code').AttributeDefinitions, ...byOwner.AttributeDefinitions, ...(edge ? byRecency.AttributeDefinitions : [])],
      GlobalSecondaryIndexes: indexes,
      ...(edge ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } } : {}),
    }),
  );
  return TableDescription?.LatestStreamArn;
}

export async function createApiTables(dynamo: DynamoDBClient): Promise<void> {
  await Promise.all([
    createLinksTable(dynamo, API_TABLES.LINKS_TABLE_NAME),
    createTable(dynamo, API_TABLES.API_KEYS_TABLE_NAME, ['keyId']),
    createTable(dynamo, API_TABLES.API_REQUEST_COUNTS_TABLE_NAME, ['window']),
  ]);
}

/** A new key of the owner, stored hashed; the key itself is returned. */
export async function createOwnerKey(dynamo: DynamoDBClient, owner: string): Promise<{ keyId: string; key: string }> {
  const { keyId, key, keyHash } = generateApiKey('owner', randomBytes);
  if (!(await putApiKey(API_TABLES.API_KEYS_TABLE_NAME, { keyId, owner, keyHash }, DynamoDBDocumentClient.from(dynamo)))) {
    throw new Error(`key id ${keyId} already taken`);
  }
  return { keyId, key };
}
