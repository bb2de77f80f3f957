/**
 * The bench calls some handlers in its own process, beside a local stack that runs every function
 * in execution environments of their own. Those in-process handlers need the variables a function
 * gets there: this takes them from the stack and puts them in process.env, which the handlers read
 * on every invocation (lambdas/shared/config.ts). It also reads the synthesized template the stack
 * wrote to its data folder.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { LocalStack } from '../local/stack';
import type { CfnTemplate } from '../local/types';

/** The stack's id in the CDK app (local/template.ts): its template file in the cloud assembly. */
const TEMPLATE_FILE = 'ClickAnalytics.template.json';

export function readSynthesizedTemplate(dataDir: string): CfnTemplate {
  return JSON.parse(readFileSync(path.join(dataDir, 'cdk.out', TEMPLATE_FILE), 'utf8')) as CfnTemplate;
}

/**
 * Sets process.env as the stack sets each function's environment: every function's variables
 * (one that differs between functions, such as POWERTOOLS_SERVICE_NAME, is left out, and so is
 * NODE_OPTIONS), the region, credentials, endpoints and API key every function gets, and
 * LAMBDA_TASK_ROOT at the bundle that carries the GeoIP database (its path is relative to the task root).
 */
export function adoptHandlerEnvironment(stack: Pick<LocalStack, 'functions' | 'functionEnvironment'>): void {
  const shared: Record<string, string> = {};
  const conflicting = new Set<string>();
  for (const { environment } of stack.functions) {
    for (const [name, value] of Object.entries(environment)) {
      if (name in shared && shared[name] !== value) conflicting.add(name);
      shared[name] = value;
    }
  }
  for (const name of conflicting) delete shared[name];
  // --enable-source-maps is for the bundles; this process runs the sources, and its children would inherit it.
  delete shared.NODE_OPTIONS;
  const geoBundle = stack.functions.find((definition) => definition.environment.GEOIP_DATABASE !== undefined);
  Object.assign(process.env, shared, stack.functionEnvironment, geoBundle === undefined ? {} : { LAMBDA_TASK_ROOT: geoBundle.codeDir });
}
