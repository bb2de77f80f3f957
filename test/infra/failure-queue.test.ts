import { expectTlsOnly, synthesize } from './synth';

const { stack, template, logicalId } = synthesize();

describe('FailureQueue', () => {
  it.each([
    ['click DLQ', () => stack.enrichment.deadLetterQueue],
    ['stream failure queue', () => stack.aggregation.streamFailureQueue],
    ['rollup schedule DLQ', () => stack.rollup.scheduleDeadLetterQueue],
  ])('keeps the %s 14 days, encrypted, TLS only', (_name, queue) => {
    const id = logicalId(queue());
    expect(template.toJSON().Resources[id].Properties).toEqual({
      MessageRetentionPeriod: 14 * 24 * 3600,
      SqsManagedSseEnabled: true,
    });
    expectTlsOnly(template, id);
  });
});
