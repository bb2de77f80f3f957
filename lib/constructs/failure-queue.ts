import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { integerInRange } from './checks';

/** Lambda's advice for SQS sources: visibility timeout at least six times the function timeout, so retries do not overlap. */
const VISIBILITY_TIMEOUT_FACTOR = 6;

/** Failures are kept the SQS maximum, 14 days, for a replay. */
const FAILURE_QUEUE_RETENTION = Duration.days(14);

export interface FailureQueueProps {
  /** What ends up in the queue, e.g. `click messages enrichment could not process` (in the cdk-nag acknowledgements). */
  readonly holds: string;
}

/**
 * The end of the line for what a stage could not process (a DLQ or an on-failure destination): kept
 * 14 days, SQS-managed encryption, TLS only, and no DLQ of its own.
 */
export class FailureQueue extends sqs.Queue {
  constructor(scope: Construct, id: string, props: FailureQueueProps) {
    super(scope, id, {
      retentionPeriod: FAILURE_QUEUE_RETENTION,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    const reason = `This queue is itself the end of the line for ${props.holds}: it has no DLQ of its own.`;
    Validations.of(this).acknowledge({ id: 'AwsSolutions-SQS3', reason }, { id: 'Serverless-SQSRedrivePolicy', reason });
  }
}

/**
 * An SQS on-failure destination of an event source mapping that grants the function only what Lambda uses
 * to deliver a failure record, sqs:SendMessage (SqsDlq also grants sqs:GetQueueAttributes and sqs:GetQueueUrl).
 */
export class SendOnlySqsDestination implements lambda.IEventSourceDlq {
  constructor(private readonly queue: sqs.IQueue) {}

  bind(_target: lambda.IEventSourceMapping, targetHandler: lambda.IFunction): lambda.DlqDestinationConfig {
    targetHandler.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
    return { destination: this.queue.queueArn };
  }
}

/**
 * The house settings of a stream consumer's mapping: from the start of the stream, batches of 100 within
 * 1 s, bisect on error, 5 retries, partial batch failures, what still fails to `failureQueue`. `overrides`
 * adds or changes settings (a filter, a window, a parallelization factor).
 */
export function streamConsumerMapping(
  eventSourceArn: string,
  failureQueue: sqs.IQueue,
  overrides: Partial<lambda.EventSourceMappingOptions> = {},
): lambda.EventSourceMappingOptions {
  return {
    eventSourceArn,
    startingPosition: lambda.StartingPosition.TRIM_HORIZON,
    batchSize: 100,
    maxBatchingWindow: Duration.seconds(1),
    bisectBatchOnError: true,
    retryAttempts: 5,
    reportBatchItemFailures: true,
    onFailure: new SendOnlySqsDestination(failureQueue),
    ...overrides,
  };
}

/**
 * An SQS event source mapping of `fn` on `queue` with partial batch failures, and what Lambda's SQS poller
 * needs (the AWSLambdaSQSQueueExecutionRole actions) on that queue alone. Added directly rather than through
 * SqsEventSource, whose grantConsumeMessages also hands the function sqs:ChangeMessageVisibility and
 * sqs:GetQueueUrl, which the poller does not use. `failures` says where what keeps failing goes (the
 * queue's DLQ), for the cdk-nag acknowledgement: an SQS mapping takes no failure destination.
 */
export function addQueueConsumer(
  fn: lambda.Function,
  mappingId: string,
  queue: sqs.IQueue,
  options: Omit<lambda.EventSourceMappingOptions, 'eventSourceArn' | 'reportBatchItemFailures'>,
  failures: string,
): lambda.EventSourceMapping {
  const mapping = fn.addEventSourceMapping(mappingId, { ...options, eventSourceArn: queue.queueArn, reportBatchItemFailures: true });
  queue.grant(fn, 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes');
  Validations.of(fn).acknowledge({
    id: 'Serverless-LambdaEventSourceMappingDestination',
    reason: `SQS event source mappings take no failure destination: ${failures} via its redrive policy.`,
  });
  return mapping;
}

export interface ConsumedQueueProps {
  /** The consuming function's timeout: the visibility timeout is six times it. */
  readonly consumerTimeout: Duration;
  /** Where a message goes after `maxReceiveCount` receives. */
  readonly deadLetterQueue: sqs.IQueue;
  /** The context option the receive count comes from, named in its range error. */
  readonly maxReceiveCountOption: string;
  /** @default 5 */
  readonly maxReceiveCount?: number;
  /** @default 4 days, the SQS default */
  readonly retentionPeriod?: Duration;
}

/**
 * A queue a function consumes: SQS-managed encryption (no key to pay for or manage; S3 notifications
 * cannot reach a queue under the AWS-managed KMS key), TLS only, a visibility timeout of six consumer
 * timeouts, and a dead-letter queue.
 */
export function consumedQueue(scope: Construct, id: string, props: ConsumedQueueProps): sqs.Queue {
  return new sqs.Queue(scope, id, {
    retentionPeriod: props.retentionPeriod,
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * VISIBILITY_TIMEOUT_FACTOR),
    deadLetterQueue: { queue: props.deadLetterQueue, maxReceiveCount: integerInRange(props.maxReceiveCountOption, props.maxReceiveCount ?? 5, 1, 1000) },
  });
}
