import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import { LINKS_BY_EDGE_RECENCY_INDEX, LINKS_BY_OWNER_INDEX } from '../../lambdas/tables/links';
import { PipelinePart } from './pipeline-part';

interface TableOptions {
  readonly partitionKey: string;
  readonly sortKey?: string;
  readonly ttl?: string;
  readonly stream?: dynamodb.StreamViewType;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** @default true */
  readonly pointInTimeRecovery?: boolean;
}

export interface ClickTablesProps {
  /**
   * The links table as the edge store follows it (redirectMode=edge): a NEW_AND_OLD_IMAGES stream, and the
   * sparse `byEdgeRecency` index of the links the store holds, least recently clicked first.
   * @default false
   */
  readonly edgeStore?: boolean;
}

/**
 * The nine tables of docs/design.md: on demand, AWS-managed encryption,
 * string keys, point-in-time recovery and retained on stack deletion, except the visitor salts, which
 * must die. Each stage is granted only what it uses on the ones it is given.
 */
export class ClickTables extends PipelinePart {
  /** Links: `code`, and the `byOwner` index (owner, createdAt). Read by the redirect, written by the API. */
  readonly linksTable: dynamodb.Table;
  /** Visitor-hash salts: `period`, TTL `expiresAt`. */
  readonly saltsTable: dynamodb.Table;
  /** Enriched clicks: `linkShard` + `clickKey`, TTL `expiresAt`, a NEW_IMAGE stream the aggregation reads. */
  readonly rawClicksTable: dynamodb.Table;
  /** Quarter-hour aggregates: `target` + `slot`, TTL `expiresAt`. */
  readonly quarterHourTable: dynamodb.Table;
  /** Daily aggregates in the reporting zone: `target` + `day`, TTL `expiresAt`. */
  readonly dailyTable: dynamodb.Table;
  /** Monthly aggregates in the reporting zone: `target` + `month`, kept forever. */
  readonly monthlyTable: dynamodb.Table;
  /** Days waiting for their rollup: `partition` + `marker`, deleted by the rollup that does them. */
  readonly pendingRollupsTable: dynamodb.Table;

  /**
   * API keys, hashed: `keyId`. Owner keys, written by `npm run keys`; share tokens and each link's share
   * list, written by the API, which reads them all.
   */
  readonly apiKeysTable: dynamodb.Table;
  /** Requests per owner key and minute: `window`, TTL `expiresAt`. Written by the API. */
  readonly apiRequestCountsTable: dynamodb.Table;

  constructor(scope: Construct, id: string, props: ClickTablesProps = {}) {
    super(scope, id);
    this.linksTable = this.table('LinksTable', {
      partitionKey: 'code',
      stream: props.edgeStore === true ? dynamodb.StreamViewType.NEW_AND_OLD_IMAGES : undefined,
    });
    // An owner's links, newest first: the API's list. Deleted links drop their owner and so leave it.
    this.linksTable.addGlobalSecondaryIndex({
      indexName: LINKS_BY_OWNER_INDEX.indexName,
      partitionKey: { name: LINKS_BY_OWNER_INDEX.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LINKS_BY_OWNER_INDEX.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    if (props.edgeStore === true) {
      // Only the links the store holds have `edgeStore`, so only they are in it: what a full store lets go
      // first, with the URL that gives each entry's size.
      this.linksTable.addGlobalSecondaryIndex({
        indexName: LINKS_BY_EDGE_RECENCY_INDEX.indexName,
        partitionKey: { name: LINKS_BY_EDGE_RECENCY_INDEX.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: LINKS_BY_EDGE_RECENCY_INDEX.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes: ['url'],
      });
    }
    // Salts are worthless once rotated out, and destroying them is the point: DESTROY, and no
    // point-in-time recovery, which would keep a rotated-out salt restorable for 35 days.
    this.saltsTable = this.table('VisitorSaltsTable', {
      partitionKey: 'period',
      ttl: 'expiresAt',
      removalPolicy: RemovalPolicy.DESTROY,
      pointInTimeRecovery: false,
    });
    Validations.of(this.saltsTable).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason:
        'Visitor salts must be destroyed when their period ends (a kept salt makes old visitor hashes linkable); a backup would keep them restorable. Losing the current salt only splits that period\'s uniques.',
    });
    // Keyed on `${code}#${n}`: a hot link's clicks spread over 16 partitions.
    this.rawClicksTable = this.table('RawClicksTable', {
      partitionKey: 'linkShard',
      sortKey: 'clickKey',
      ttl: 'expiresAt',
      stream: dynamodb.StreamViewType.NEW_IMAGE,
    });
    this.quarterHourTable = this.table('QuarterHourAggregatesTable', { partitionKey: 'target', sortKey: 'slot', ttl: 'expiresAt' });
    this.dailyTable = this.table('DailyAggregatesTable', { partitionKey: 'target', sortKey: 'day', ttl: 'expiresAt' });
    // No TTL: monthly figures are kept forever.
    this.monthlyTable = this.table('MonthlyAggregatesTable', { partitionKey: 'target', sortKey: 'month' });
    // No TTL: a marker is pending work, deleted by the rollup that does it.
    this.pendingRollupsTable = this.table('PendingRollupsTable', { partitionKey: 'partition', sortKey: 'marker' });
    this.apiKeysTable = this.table('ApiKeysTable', { partitionKey: 'keyId' });
    // Counters of the current minute: worthless a minute later, so nothing to back up or keep.
    this.apiRequestCountsTable = this.table('ApiRequestCountsTable', {
      partitionKey: 'window',
      ttl: 'expiresAt',
      removalPolicy: RemovalPolicy.DESTROY,
      pointInTimeRecovery: false,
    });
    Validations.of(this.apiRequestCountsTable).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason: 'Per-minute request counters of API keys: a restored counter would be stale by the time it was back.',
    });
  }

  private table(id: string, options: TableOptions): dynamodb.Table {
    return new dynamodb.Table(this, id, {
      partitionKey: { name: options.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: options.sortKey === undefined ? undefined : { name: options.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: options.pointInTimeRecovery ?? true },
      timeToLiveAttribute: options.ttl,
      stream: options.stream,
      removalPolicy: options.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
