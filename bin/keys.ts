/**
 * `npm run keys -- create --owner NAME | list [--owner NAME] | revoke KEY_ID  [--table NAME]`
 *
 * Owner API keys, and the share tokens owners make through the API (listed and revoked here too).
 * Without --table it works on the running local stack, found through DATA_DIR/local-stack.json as
 * `npm start` wrote it; with --table (the stack's ApiKeysTableName output) on AWS, with credentials
 * and region as the AWS SDK finds them.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LOCAL_CREDENTIALS } from '../lambdas/contract';
import { checkOwnerName, generateApiKey, KEY_ID_PATTERN } from '../lambdas/domain/api-key';
import { errorText } from '../lambdas/shared/error-text';
import { type ApiKeyListing, listApiKeys, putApiKey, revokeApiKey } from '../lambdas/tables/api-keys';
import type { LocalStackDescription } from '../local/stack';

const USAGE = `Usage: npm run keys -- <command> [--table NAME]

  create --owner NAME   make a key for the owner; it is printed once, alone on the last line
  list [--owner NAME]   every key (of one owner): id, owner, created, active or revoked;
                        a share token ends with "share of CODE" and its label
  revoke KEY_ID         the key (or share token) stops working at its next request

Owners are 1 to 128 letters, digits or "._@+-"; "admin" is the admin key's. An owner's key sees
only that owner's links and statistics.
  --table NAME   the keys table on AWS (the stack's ApiKeysTableName output); credentials and
                 region as the AWS SDK finds them (AWS_PROFILE, AWS_REGION, ...)
  -h, --help     this text
Without --table: the running local stack, found through DATA_DIR (default .data).
Exit status: 0 done, 1 failed (an unknown key, no stack), 2 bad arguments.`;

/** The local stack's keys table is the template's, named by its logical ID. */
const LOCAL_KEYS_TABLE = /^ApiKeysTable[0-9A-F]{8}$/;
const KEY_ID_ATTEMPTS = 3;

class UsageError extends Error {}
class CommandError extends Error {}

type Command = { readonly name: 'create'; readonly owner: string } | { readonly name: 'list'; readonly owner?: string } | { readonly name: 'revoke'; readonly keyId: string };

interface Target {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly where: string;
}

function parseCommand(argv: readonly string[]): { command: Command; table?: string } | 'help' {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: { owner: { type: 'string' }, table: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return 'help';
  const [name, ...rest] = positionals;
  const table = values.table;
  const owner = values.owner === undefined ? undefined : checkOwnerName(values.owner);
  if (owner !== undefined && !owner.ok) throw new UsageError(owner.error);
  const ownerName = owner?.ok ? owner.owner : undefined;
  switch (name) {
    case 'create':
      if (ownerName === undefined) throw new UsageError('create needs --owner NAME.');
      if (rest.length > 0) throw new UsageError(`create takes no further arguments, got "${rest.join(' ')}".`);
      return { command: { name, owner: ownerName }, table };
    case 'list':
      if (rest.length > 0) throw new UsageError(`list takes no further arguments, got "${rest.join(' ')}".`);
      return { command: { name, owner: ownerName }, table };
    case 'revoke':
      if (rest.length !== 1 || !KEY_ID_PATTERN.test(rest[0])) throw new UsageError('revoke needs one key id (12 letters and digits, as list shows).');
      if (ownerName !== undefined) throw new UsageError('revoke takes a key id, not --owner.');
      return { command: { name, keyId: rest[0] }, table };
    default:
      throw new UsageError(name === undefined ? 'Name a command: create, list or revoke.' : `Unknown command "${name}".`);
  }
}

async function localTarget(): Promise<Target> {
  const dataDir = path.resolve(process.env.DATA_DIR || '.data');
  const file = path.join(dataDir, 'local-stack.json');
  let description: LocalStackDescription;
  try {
    description = JSON.parse(await readFile(file, 'utf8')) as LocalStackDescription;
  } catch {
    throw new CommandError(`No local stack found (${file} is missing): start it with npm start, set DATA_DIR to its data folder, or pass --table for AWS.`);
  }
  const tableName = Object.values(description.tables).find((name) => LOCAL_KEYS_TABLE.test(name));
  if (tableName === undefined) throw new CommandError(`The local stack in ${dataDir} has no API keys table: restart it with this version.`);
  const client = new DynamoDBClient({
    region: description.region,
    credentials: LOCAL_CREDENTIALS,
    endpoint: description.dynamodbEndpoint,
    // A stopped stack should fail at once, not after the SDK's retries.
    maxAttempts: 1,
  });
  return { client: DynamoDBDocumentClient.from(client), tableName, where: `the local stack (${dataDir})` };
}

function awsTarget(tableName: string): Target {
  return { client: DynamoDBDocumentClient.from(new DynamoDBClient({})), tableName, where: `table ${tableName}` };
}

/** One key a line; a share token's label is quoted as JSON, so it stays one field on the line. */
function listingLine(key: ApiKeyListing): string {
  const fields = [key.keyId, key.owner, `created ${key.createdAt}`, key.revokedAt === undefined ? 'active' : `revoked ${key.revokedAt}`];
  if (key.share !== undefined) fields.push(`share of ${key.share}${key.label === undefined ? '' : ` ${JSON.stringify(key.label)}`}`);
  return fields.join('  ');
}

async function run(command: Command, target: Target, out: (line: string) => void): Promise<number> {
  const { client, tableName } = target;
  switch (command.name) {
    case 'create': {
      for (let attempt = 0; attempt < KEY_ID_ATTEMPTS; attempt++) {
        const key = generateApiKey('owner', randomBytes);
        if (await putApiKey(tableName, { keyId: key.keyId, owner: command.owner, keyHash: key.keyHash }, client)) {
          out(`Key ${key.keyId} for owner ${command.owner} in ${target.where}. It is shown once; only its hash is stored:`);
          out(key.key);
          return 0;
        }
      }
      throw new CommandError(`No free key id after ${KEY_ID_ATTEMPTS} tries; try again.`);
    }
    case 'list': {
      const keys = await listApiKeys(tableName, client, command.owner);
      if (keys.length === 0) out(`No keys${command.owner === undefined ? '' : ` for owner ${command.owner}`} in ${target.where}.`);
      for (const key of keys) out(listingLine(key));
      return 0;
    }
    case 'revoke': {
      const outcome = await revokeApiKey(tableName, command.keyId, client);
      if (outcome === 'unknown') {
        process.stderr.write(`keys: no key ${command.keyId} in ${target.where}\n`);
        return 1;
      }
      out(outcome === 'revoked' ? `Key ${command.keyId} revoked.` : `Key ${command.keyId} was already revoked.`);
      return 0;
    }
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCommand>;
  try {
    parsed = parseCommand(argv);
  } catch (error) {
    process.stderr.write(`keys: ${errorText(error)}\n\n${USAGE}\n`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const target = parsed.table === undefined ? await localTarget() : awsTarget(parsed.table);
    return await run(parsed.command, target, (line) => process.stdout.write(`${line}\n`));
  } catch (error) {
    process.stderr.write(`keys: ${errorText(error)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`keys: ${errorText(error)}\n`);
    process.exit(1);
  },
);
