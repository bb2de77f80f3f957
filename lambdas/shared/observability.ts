/** What every handler does first with Lambda's context: Powertools' per-invocation wiring, in one place. */
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';

/**
 * Gives the logger the invocation's context, so every line carries the request id, function and
 * cold start, and publishes the ColdStart metric once per execution environment. In-process callers
 * (tests, benches) pass no context, and nothing is added.
 */
export function observeInvocation(context: Context | undefined, logger: Logger, metrics?: Metrics): void {
  if (context === undefined) return;
  logger.addContext(context);
  metrics?.captureColdStartMetric();
}
