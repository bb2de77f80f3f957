/**
 * The API's own tables on DynamoDB Local (links with their byOwner index, keys, request counts), with
 * the keys and index the stack defines, and owner keys made as `npm run keys -- create` makes them.
 * startApiHandlerTables gives the API handler, in-process, these and the statistics tables it reads.
 */
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomBytes } from 'node:crypto';
import { generateApiKey } from '../../../lambdas/domain/api-key';
import { putApiKey } from '../../../lambdas/tables/api-keys';
import { LINKS_BY_OWNER_INDEX } from '../../../lambdas/tables/links';
import { createTable, type DynamoForHandlers, startDynamoForHandlers, stringKeys } from '../../fixtures/local/emulators';
import { createStatisticsTables, STATISTICS_TABLES } from './statistics-tables';

export const API_TABLES = {
  LINKS_TABLE_NAME: 'LinksForApiTest',
  API_KEYS_TABLE_NAME: 'ApiKeysForTest',
  API_REQUEST_COUNTS_TABLE_NAME: 'ApiRequestCountsForTest',
} as const;

export async function createApiTables(dynamo: DynamoDBClient): Promise<void> {
  const { indexName, partitionKey, sortKey } = LINKS_BY_OWNER_INDEX;
  const indexKeys = stringKeys(partitionKey, sortKey);
  await Promise.all([
    dynamo.send(
      new CreateTableCommand({
        TableName: API_TABLES.LINKS_TABLE_NAME,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: stringKeys('code').KeySchema,
        AttributeDefinitions: [...stringKeys('code').AttributeDefinitions, ...indexKeys.AttributeDefinitions],
        GlobalSecondaryIndexes: [{ IndexName: indexName, KeySchema: indexKeys.KeySchema, Projection: { ProjectionType: 'ALL' } }],
      }),
    ),
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

/**
 * DynamoDB Local with the API's tables and the statistics tables, the handlers' environment pointed at
 * them (UTC reporting zone), and a key for each owner named, in that order.
 */
export async function startApiHandlerTables(
  adminKey: string,
  requestsPerMinutePerKey: number,
  owners: readonly string[],
): Promise<{ local: DynamoForHandlers; ownerKeys: string[] }> {
  const local = await startDynamoForHandlers({
    ...STATISTICS_TABLES,
    ...API_TABLES,
    CLICKS_API_KEY: adminKey,
    REPORTING_TIME_ZONE: 'UTC',
    API_KEY_REQUESTS_PER_MINUTE: String(requestsPerMinutePerKey),
  });
  await Promise.all([createApiTables(local.dynamo), createStatisticsTables(local.dynamo)]);
  const ownerKeys: string[] = [];
  for (const owner of owners) ownerKeys.push((await createOwnerKey(local.dynamo, owner)).key);
  return { local, ownerKeys };
}
