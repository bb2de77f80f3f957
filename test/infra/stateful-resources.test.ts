/**
 * Resources that hold data, or whose identity is data, keep their logical IDs: CloudFormation replaces a
 * resource whose logical ID changed, and replacing one of these loses what it holds (a table's items, a
 * queue's messages, a log group's click log, the key and the secret) or what points at it (the alarm
 * topic's subscriptions, the distribution's domain in every short link handed out, the stream mapping's
 * position in the raw clicks stream). The fixture lists them as the deployed stack has them; a refactoring
 * of lib/ must leave this map exactly as it is.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { synthesize } from './synth';

const FIXTURE = path.join(__dirname, 'fixtures', 'stateful-resources.json');

const STATEFUL_TYPES = new Set([
  'AWS::DynamoDB::Table',
  'AWS::SQS::Queue',
  'AWS::Logs::LogGroup',
  'AWS::KMS::Key',
  'AWS::SecretsManager::Secret',
  'AWS::SNS::Topic',
  'AWS::CloudFront::Distribution',
]);

interface Resource {
  readonly Type: string;
  readonly Properties?: { readonly StartingPosition?: unknown };
}

/** A stream event source mapping keeps its position in the stream; an SQS one keeps nothing (the queue does). */
const isStateful = (resource: Resource): boolean =>
  STATEFUL_TYPES.has(resource.Type) ||
  (resource.Type === 'AWS::Lambda::EventSourceMapping' && resource.Properties?.StartingPosition !== undefined);

/** Logical ID → type of every stateful resource of a template. */
function statefulResources(resources: Readonly<Record<string, Resource>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(resources)
      .filter(([, resource]) => isStateful(resource))
      .map(([logicalId, resource]) => [logicalId, resource.Type]),
  );
}

describe('stateful resources', () => {
  const expected = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, string>;

  it.each([
    ['the default stack', {}],
    ['a stack with every option set', { alarmEmail: 'ops@example.com', publicBaseUrl: 'https://sho.rt', reportingTimeZone: 'America/New_York' }],
  ])('keep the logical IDs and types of the deployed stack in %s', (_name, props) => {
    const { template } = synthesize(props);
    expect(statefulResources(template.toJSON().Resources as Record<string, Resource>)).toEqual(expected);
  });

  it('cover every kind of resource that holds data', () => {
    expect(new Set(Object.values(expected))).toEqual(new Set([...STATEFUL_TYPES, 'AWS::Lambda::EventSourceMapping']));
  });
});
