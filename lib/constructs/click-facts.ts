import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { DEFAULT_SALT_PERIOD, ENV, type SaltPeriod } from '../../lambdas/contract';
import { integerInRange } from './checks';

/**
 * What a function that makes click messages needs (the origin redirect, and the edge click consumer,
 * which must key a visitor as the redirect does): lambdas/shared/config.ts, clickFactsConfig.
 */
export interface ClickFacts {
  /** Links, for each click's owner (GetItem on the table only). */
  readonly linksTable: dynamodb.ITable;
  /** Visitor-hash salts, read and created (GetItem, PutItem). */
  readonly saltsTable: dynamodb.ITable;
  /**
   * How often the secret salt behind visitor hashes rotates (and so how long a visitor stays recognisable).
   * @default 'month'
   */
  readonly visitorSaltPeriod?: SaltPeriod;
  /**
   * How long a link is cached in memory, in seconds (0 to 86,400).
   * @default 60
   */
  readonly linkCacheTtlSeconds?: number;
}

/** The environment variables clickFactsConfig reads. */
export function clickFactsEnvironment(facts: ClickFacts): Record<string, string> {
  return {
    [ENV.linksTable]: facts.linksTable.tableName,
    [ENV.saltsTable]: facts.saltsTable.tableName,
    [ENV.visitorSaltPeriod]: facts.visitorSaltPeriod ?? DEFAULT_SALT_PERIOD,
    [ENV.linkCacheTtlSeconds]: String(integerInRange('linkCacheTtlSeconds', facts.linkCacheTtlSeconds ?? 60, 0, 86_400)),
  };
}

/** Reading links and reading and creating salts, and nothing else on those tables. */
export function grantClickFacts(grantee: iam.IGrantable, facts: ClickFacts): void {
  // The table alone: Table.grant would add its indexes (index/*), which a link lookup never reads.
  iam.Grant.addToPrincipal({ grantee, actions: ['dynamodb:GetItem'], resourceArns: [facts.linksTable.tableArn] });
  facts.saltsTable.grant(grantee, 'dynamodb:GetItem', 'dynamodb:PutItem');
}
