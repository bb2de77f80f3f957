/**
 * The bench calls some handlers in its own process, beside a local stack that runs every function
 * in execution environments of their own. Those in-process handlers need the variables a function
 * gets there: this reads them back from what the stack wrote to its data folder (the synthesized
 * template in cdk.out and local-stack.json) and puts them in process.env, which the handlers read
 * on every invocation (lambdas/shared/config.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { functionDefinitions } from '../local/lambda/functions';
import type { LocalStackDescription } from '../local/stack';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION, type PhysicalResource, resourcesOfType } from '../local/template';
import type { CfnTemplate } from '../local/types';

/** The stack's id in the CDK app (local/template.ts): its template file in the cloud assembly. */
const TEMPLATE_FILE = 'ClickAnalytics.template.json';

export function readStackDescription(dataDir: string): LocalStackDescription {
  return JSON.parse(readFileSync(path.join(dataDir, 'local-stack.json'), 'utf8')) as LocalStackDescription;
}

export function readSynthesizedTemplate(dataDir: string): CfnTemplate {
  return JSON.parse(readFileSync(path.join(dataDir, 'cdk.out', TEMPLATE_FILE), 'utf8')) as CfnTemplate;
}

/** What Ref and Fn::GetAtt give locally, rebuilt from local-stack.json (as local/provision.ts names them). */
function physicalValues(template: CfnTemplate, description: LocalStackDescription): Record<string, PhysicalResource> {
  const physical: Record<string, PhysicalResource> = {};
  for (const [logicalId, tableName] of Object.entries(description.tables)) {
    physical[logicalId] = { ref: tableName, attributes: {} };
  }
  for (const [logicalId, queueUrl] of Object.entries(description.queues)) {
    const queueName = queueUrl.split('/').at(-1) ?? logicalId;
    physical[logicalId] = {
      ref: queueUrl,
      attributes: { QueueUrl: queueUrl, QueueName: queueName, Arn: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${queueName}` },
    };
  }
  for (const { logicalId } of resourcesOfType(template, 'AWS::Lambda::Function')) {
    physical[logicalId] = { ref: logicalId, attributes: { Arn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${logicalId}` } };
  }
  return physical;
}

/**
 * Sets process.env as the stack sets each function's environment: every function's variables
 * (one that differs between functions, such as POWERTOOLS_SERVICE_NAME, is left out, and so is
 * NODE_OPTIONS), the local
 * endpoints and credentials, the API key, and LAMBDA_TASK_ROOT at the bundle that carries the
 * GeoIP database (its path is relative to the task root).
 */
export function adoptHandlerEnvironment(dataDir: string, apiKey: string): void {
  const template = readSynthesizedTemplate(dataDir);
  const description = readStackDescription(dataDir);
  const definitions = functionDefinitions(template, physicalValues(template, description), path.join(dataDir, 'cdk.out'));
  const shared: Record<string, string> = {};
  const conflicting = new Set<string>();
  for (const { environment } of definitions) {
    for (const [name, value] of Object.entries(environment)) {
      if (name in shared && shared[name] !== value) conflicting.add(name);
      shared[name] = value;
    }
  }
  for (const name of conflicting) delete shared[name];
  // --enable-source-maps is for the bundles; this process runs the sources, and its children would inherit it.
  delete shared.NODE_OPTIONS;
  const geoBundle = definitions.find((definition) => definition.environment.GEOIP_DATABASE !== undefined);
  Object.assign(process.env, shared, {
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: description.dynamodbEndpoint,
    AWS_ENDPOINT_URL_DYNAMODB_STREAMS: description.dynamodbEndpoint,
    AWS_ENDPOINT_URL_SQS: description.sqsEndpoint,
    CLICKS_API_KEY: apiKey,
    PUBLIC_BASE_URL: description.baseUrl,
    ...(geoBundle === undefined ? {} : { LAMBDA_TASK_ROOT: geoBundle.codeDir }),
  });
}
