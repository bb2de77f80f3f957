import { CfnOutput, Fn, Validations } from 'aws-cdk-lib';
import { type CfnStage, type HttpApi, HttpMethod, type HttpStage, type ThrottleSettings } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { ENV } from '../../lambdas/contract';
import { DEFAULT_REQUESTS_PER_MINUTE_PER_KEY } from '../../lambdas/shared/config';
import { LINKS_BY_OWNER_INDEX } from '../../lambdas/tables/links';
import { OWN_PATH_SEGMENTS } from '../../lambdas/domain/short-code';
import { HouseFunction } from './house-function';
import { PipelinePart } from './pipeline-part';

/** The API function's V8 options; the bench, which times its handler in-process, runs with them too. */
export const API_V8_OPTIONS: readonly string[] = ['--max-semi-space-size=32'];

export interface StatisticsApiProps {
  /** The HTTP API the `ANY /api/{proxy+}` route is added to. */
  readonly httpApi: HttpApi;
  /** Its stage, which gets the route's own throttle. */
  readonly stage: HttpStage;
  /** The distribution in front of it: its domain is one of the short-link hosts links may not point back at. */
  readonly distribution: cloudfront.IDistribution;
  /** Links the API creates, lists, reads, changes and deletes. */
  readonly linksTable: dynamodb.ITable;
  /**
   * Owner keys and share tokens the API checks callers against (GetItem); it also makes, lists and
   * revokes share tokens (PutItem, UpdateItem, BatchGetItem). Owner keys are made by `npm run keys`.
   */
  readonly apiKeysTable: dynamodb.ITable;
  /** Per-key request counters (UpdateItem only). */
  readonly apiRequestCountsTable: dynamodb.ITable;
  /** The three levels statistics are read from (Query only). */
  readonly quarterHourTable: dynamodb.ITable;
  readonly dailyTable: dynamodb.ITable;
  readonly monthlyTable: dynamodb.ITable;
  /** Which days the rollup has not finished: those are answered from the quarter-hour level (Query only). */
  readonly pendingRollupsTable: dynamodb.ITable;
  /** Raw clicks, read back by the raw export (Query only). */
  readonly rawClicksTable: dynamodb.ITable;
  /** IANA zone the daily and monthly aggregates are cut in (already checked). */
  readonly reportingTimeZone: string;
  /**
   * Base URL of short links (e.g. `https://sho.rt`), when a custom domain points at the distribution.
   * @default - short URLs are built on the host of each request (the distribution domain)
   */
  readonly publicBaseUrl?: string;
  /**
   * Requests one owner key may make per minute; past it the API answers 429 until the minute ends.
   * @default 300
   */
  readonly requestsPerMinutePerKey?: number;
  /**
   * Steady-state and burst limits of the `/api` route, over all callers, below the stage's own.
   * @default { rateLimit: 50, burstLimit: 100 }
   */
  readonly routeThrottle?: ThrottleSettings;
  /**
   * Lets links point at loopback, private, link-local, metadata and other non-public hosts.
   * @default false
   */
  readonly allowPrivateDestinations?: boolean;
}

/** Limits of the `/api` route over all callers together. */
export const DEFAULT_API_ROUTE_THROTTLE: Required<ThrottleSettings> = { rateLimit: 50, burstLimit: 100 };

/**
 * Stage 5: the API function behind `ANY /api/{proxy+}`: manages links, answers statistics from the
 * quarter-hour, daily and monthly aggregates, and exports them and the raw clicks. It authorises every
 * request itself: owner keys against the keys table, the operators' admin key against a Secrets Manager
 * secret, which it owns and outputs.
 */
export class StatisticsApi extends PipelinePart {
  readonly apiKeySecret: secretsmanager.Secret;
  readonly apiFunction: HouseFunction;

  constructor(scope: Construct, id: string, props: StatisticsApiProps) {
    super(scope, id);
    this.apiKeySecret = new secretsmanager.Secret(this, 'ApiKeySecret', {
      description: 'Bearer key of the click analytics API (Authorization: Bearer <key>)',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    Validations.of(this.apiKeySecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'A static bearer key handed to API clients: rotating it is an operator action coordinated with those clients.',
    });

    // Hosts the API takes as its own (links pointing back at them are refused).
    const shortLinkHosts = [props.distribution.distributionDomainName];
    if (props.publicBaseUrl !== undefined) shortLinkHosts.push(new URL(props.publicBaseUrl).host);
    this.apiFunction = new HouseFunction(this, 'ApiFunction', {
      entry: 'lambdas/handlers/api.ts',
      serviceName: 'api',
      description: 'Authenticated click analytics API: links, statistics and exports',
      // Memory buys CPU: a dashboard's hourly week parses 672 items. The larger young generation holds a
      // query's garbage without a scavenge in the middle, which was the hourly week's p99 (README, Benchmark).
      memorySize: 512,
      v8Options: API_V8_OPTIONS,
      environment: {
        [ENV.linksTable]: props.linksTable.tableName,
        [ENV.apiKeysTable]: props.apiKeysTable.tableName,
        [ENV.apiRequestCountsTable]: props.apiRequestCountsTable.tableName,
        [ENV.apiKeyRequestsPerMinute]: String(props.requestsPerMinutePerKey ?? DEFAULT_REQUESTS_PER_MINUTE_PER_KEY),
        [ENV.quarterHourTable]: props.quarterHourTable.tableName,
        [ENV.dailyTable]: props.dailyTable.tableName,
        [ENV.monthlyTable]: props.monthlyTable.tableName,
        [ENV.pendingRollupsTable]: props.pendingRollupsTable.tableName,
        [ENV.rawClicksTable]: props.rawClicksTable.tableName,
        [ENV.reportingTimeZone]: props.reportingTimeZone,
        [ENV.apiKeySecretArn]: this.apiKeySecret.secretArn,
        [ENV.shortLinkHosts]: Fn.join(',', shortLinkHosts),
        [ENV.allowPrivateDestinations]: String(props.allowPrivateDestinations ?? false),
        ...(props.publicBaseUrl === undefined ? {} : { [ENV.publicBaseUrl]: props.publicBaseUrl }),
      },
    });
    // Items on the table, Query on the byOwner index only (Table.grant would cover every index, index/*).
    iam.Grant.addToPrincipal({
      grantee: this.apiFunction,
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resourceArns: [props.linksTable.tableArn],
    });
    iam.Grant.addToPrincipal({
      grantee: this.apiFunction,
      actions: ['dynamodb:Query'],
      resourceArns: [`${props.linksTable.tableArn}/index/${LINKS_BY_OWNER_INDEX.indexName}`],
    });
    // Writing key items adds no reach: the function already holds the admin key, which reaches every link.
    props.apiKeysTable.grant(this.apiFunction, 'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    props.apiRequestCountsTable.grant(this.apiFunction, 'dynamodb:UpdateItem');
    for (const table of [props.quarterHourTable, props.dailyTable, props.monthlyTable, props.pendingRollupsTable, props.rawClicksTable]) {
      table.grant(this.apiFunction, 'dynamodb:Query');
    }
    // The handler only calls GetSecretValue (Powertools SecretsProvider); grantRead would add DescribeSecret.
    iam.Grant.addToPrincipal({
      grantee: this.apiFunction,
      actions: ['secretsmanager:GetSecretValue'],
      resourceArns: [this.apiKeySecret.secretArn],
    });

    const apiPath = `/${OWN_PATH_SEGMENTS.api}/{proxy+}`;
    const routes = props.httpApi.addRoutes({
      path: apiPath,
      methods: [HttpMethod.ANY],
      integration: new HttpLambdaIntegration('ApiIntegration', this.apiFunction),
    });
    for (const route of routes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: 'The API function authorises every request itself: hashed owner keys in DynamoDB, the admin key in Secrets Manager.',
      });
    }

    // HTTP APIs throttle per stage and route, not per key (that is the function's per-key limit above):
    // this caps what all callers together may cost, well below the redirects' stage limit.
    const throttle = props.routeThrottle ?? DEFAULT_API_ROUTE_THROTTLE;
    (props.stage.node.defaultChild as CfnStage).routeSettings = {
      [`ANY ${apiPath}`]: { ThrottlingRateLimit: throttle.rateLimit, ThrottlingBurstLimit: throttle.burstLimit },
    };

    new CfnOutput(this, 'ApiKeysTableName', {
      description: 'DynamoDB table of owner API keys: npm run keys -- --table <this> (see the README)',
      value: props.apiKeysTable.tableName,
    });
    new CfnOutput(this, 'ApiKeySecretArn', {
      description: 'Secrets Manager secret holding the API bearer key',
      value: this.apiKeySecret.secretArn,
    });
  }
}
