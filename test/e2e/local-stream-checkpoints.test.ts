/**
 * Stream checkpoint files the local stack cannot use: a corrupt one is moved aside and the
 * mapping starts from its starting position, as a new event source mapping would; one it cannot
 * read at all fails the start-up cleanly, with nothing left running.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/emulators/dynamodb-local';
import { referencedLogicalId, resourcesOfType, synthesizeTemplate } from '../../local/template';
import { asRecord } from '../../local/types';
import { createStreamTable, dynamoClient, recordingFunction, streamsClient, testStreamPoller } from '../fixtures/local/emulators';
import { eventually, removeDataDir, startLocalStackProcess, TEST_API_KEY, type LocalStackProcess } from '../fixtures/local/local-stack-process';

jest.setTimeout(90_000);

describe('DynamoDbStreamPoller with a corrupt checkpoint file', () => {
  let dynamoLocal: DynamoDbLocal;
  let dynamo: DynamoDBClient;
  let streams: DynamoDBStreamsClient;
  let scratchDir: string;

  beforeAll(async () => {
    dynamoLocal = await startDynamoDbLocal({});
    dynamo = dynamoClient(dynamoLocal.endpoint);
    streams = streamsClient(dynamoLocal.endpoint);
    scratchDir = mkdtempSync(path.join(tmpdir(), 'local-stream-checkpoints-'));
  }, 60_000);

  afterAll(async () => {
    dynamo?.destroy();
    streams?.destroy();
    await dynamoLocal?.stop();
    if (scratchDir) rmSync(scratchDir, { recursive: true, force: true });
  });
  afterEach(() => jest.restoreAllMocks());

  const corruptContents: Readonly<Record<string, (streamArn: string) => string>> = {
    'not JSON': () => '{"streamArn": "arn:aws:dynamodb:ddb',
    'empty': () => '',
    'JSON null': () => 'null',
    'a JSON array': () => '[]',
    'a streamArn that is not a string': () => JSON.stringify({ streamArn: 42, shards: {} }),
    'no shards': (streamArn) => JSON.stringify({ streamArn }),
    'a sequence number that is not a string': (streamArn) =>
      JSON.stringify({ streamArn, shards: { 'shardId-1': { sequenceNumber: 7 } } }),
  };

  it.each(Object.keys(corruptContents))('moves a checkpoint file with %s aside and reads from the starting position', async (kind) => {
    const tableName = `corrupt-${Object.keys(corruptContents).indexOf(kind)}`;
    const streamArn = await createStreamTable(dynamo, tableName);
    for (const id of ['a', 'b']) await dynamo.send(new PutItemCommand({ TableName: tableName, Item: { id: { S: id } } }));

    const folder = path.join(scratchDir, tableName);
    mkdirSync(folder);
    const checkpointFile = path.join(folder, 'Mapping.json');
    const corrupt = corruptContents[kind](streamArn);
    writeFileSync(checkpointFile, corrupt);
    const errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    const fn = recordingFunction(async () => undefined);
    const poller = testStreamPoller({ streams, streamArn, fn, checkpointFile });
    expect(() => poller.start()).not.toThrow();
    try {
      expect(await poller.drain(10_000)).toBe(true);
    } finally {
      await poller.stop();
    }

    expect(fn.events.flatMap((event) => (event as DynamoDBStreamEvent).Records.map((record) => record.dynamodb?.Keys?.id?.S))).toEqual(['a', 'b']);
    const aside = readdirSync(folder).filter((name) => name.startsWith('Mapping.json.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(path.join(folder, aside[0]), 'utf8')).toBe(corrupt);
    // A fresh, valid checkpoint took its place.
    expect(JSON.parse(readFileSync(checkpointFile, 'utf8'))).toEqual(expect.objectContaining({ streamArn }));
    const lines = errors.mock.calls.map((call) => String(call[0])).filter((line) => line.includes(checkpointFile));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(path.join(folder, aside[0]));
    expect(lines[0]).toContain('TRIM_HORIZON');
  });
});

describe('local stack (npm start) with stream checkpoint files it cannot use', () => {
  let streamMappingIds: string[];
  let dataDir: string | undefined;
  let stack: LocalStackProcess | undefined;

  beforeAll(() => {
    const template = synthesizeTemplate();
    const tableIds = new Set(resourcesOfType(template, 'AWS::DynamoDB::Table').map(({ logicalId }) => logicalId));
    streamMappingIds = resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')
      .filter(({ resource }) => tableIds.has(referencedLogicalId(asRecord(resource.Properties).EventSourceArn) ?? ''))
      .map(({ logicalId }) => logicalId);
  });

  afterEach(async () => {
    await stack?.kill();
    stack = undefined;
    if (dataDir) await removeDataDir(dataDir);
    dataDir = undefined;
  });

  const freshDataDir = (): string => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'click-analytics-e2e-'));
    mkdirSync(path.join(dataDir, 'stream-checkpoints'));
    return dataDir;
  };

  it('starts past a corrupt checkpoint file, says which file it moved aside, and counts clicks', async () => {
    expect(streamMappingIds.length).toBeGreaterThan(0);
    const folder = path.join(freshDataDir(), 'stream-checkpoints');
    for (const id of streamMappingIds) writeFileSync(path.join(folder, `${id}.json`), 'garbage, not JSON');
    stack = await startLocalStackProcess({ dataDir });

    for (const id of streamMappingIds) {
      const file = path.join(folder, `${id}.json`);
      expect(stack.output()).toContain(`checkpoint file ${file} is not a valid checkpoint file`);
      expect(readdirSync(folder).filter((name) => name.startsWith(`${id}.json.corrupt-`))).toHaveLength(1);
    }
    expect((await fetch(`${stack.baseUrl}/demo`, { redirect: 'manual' })).status).toBe(302);
    await eventually(async () => {
      const response = await fetch(`${stack?.baseUrl}/api/links/demo/stats`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
      const body = (await response.json()) as { totals: { clicks: number; botClicks: number } };
      expect(body.totals.clicks + body.totals.botClicks).toBe(1);
    }, 10_000, 200);
    await expect(stack.stop('SIGINT')).resolves.toBe(0);
  });

  it('fails a start-up on an unreadable checkpoint file cleanly: a clear error, no DynamoDB Local left running', async () => {
    const folder = path.join(freshDataDir(), 'stream-checkpoints');
    // A folder where the checkpoint file should be: it cannot be read, nor safely moved aside.
    for (const id of streamMappingIds) mkdirSync(path.join(folder, `${id}.json`));
    const failure = startLocalStackProcess({ dataDir });
    await expect(failure).rejects.toThrow(/exited with code 1 before it was ready/);
    await expect(failure).rejects.toThrow(/Local stack failed while starting the event source pollers/);
    const javaForThisDataDir = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes('DynamoDBLocal.jar') && line.includes(dataDir ?? 'never'));
    expect(javaForThisDataDir).toEqual([]);
  });
});
