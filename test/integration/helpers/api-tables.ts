/**
 * The API's own tables on DynamoDB Local (links with their byOwner index, keys, request counts), with
 * the keys and index the stack defines, and owner keys made as `npm run keys -- create` makes them.
 */
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { randomBytes } from 'node:crypto';
import { generateApiKey } from '../../../lambdas/domain/api-key';
import { putApiKey } from '../../../lambdas/tables/api-keys';
import { LINKS_BY_OWNER_INDEX } from '../../../lambdas/tables/links';
import { createTable, stringKeys } from '../../fixtures/local/emulators';

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
