import { type CfnElement, Duration, Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Aggregation } from './constructs/aggregation';
import { AlarmTopic } from './constructs/alarm-topic';
import { ClickEnrichment } from './constructs/click-enrichment';
import { ClickTables } from './constructs/click-tables';
import { DashboardSite } from './constructs/dashboard-site';
import { EdgeClickEnrichment, type EdgeClickConsumerProps } from './constructs/edge-click-enrichment';
import { EdgeLogBackfill } from './constructs/edge-log-backfill';
import { EdgeRedirects } from './constructs/edge-redirects';
import { EdgeStoreSync } from './constructs/edge-store-sync';
import { logicalIdOutsideParts } from './constructs/pipeline-part';
import { RedirectEdge } from './constructs/redirect-edge';
import { Rollup } from './constructs/rollup';
import { StatisticsApi } from './constructs/statistics-api';
import { type ClickAnalyticsStackProps, parseTimeZone } from './stack-props';

/**
 * The aggregation-lag budget: a click must reach the quarter-hour table within five minutes. Each half of
 * its path (the click queue, then the raw clicks stream) alarms when its oldest click has waited that long.
 */
const AGGREGATION_LAG_BUDGET = Duration.minutes(5);

/**
 * Click analytics of the link shortener, one part per pipeline stage (lib/constructs/): redirects at the
 * edge, a click queue drained by enrichment into a raw clicks table, stream aggregation into quarter-hour
 * aggregates, scheduled rollups into daily and monthly ones, a statistics API and the dashboard page that
 * shows it; the tables and the alarm topic are shared. Each part owns its resources, grants, alarms and outputs: this class only wires
 * them together, and allocates logical IDs as if the parts were not there (see PipelinePart).
 */
export class ClickAnalyticsStack extends Stack {
  readonly tables: ClickTables;
  readonly alarms: AlarmTopic;
  readonly edge: RedirectEdge;
  /** The edge redirect, its store and its click stream: present in redirectMode=edge only. */
  readonly edgeRedirects?: EdgeRedirects;
  /** The consumer of the edge click stream: redirectMode=edge only. */
  readonly edgeEnrichment?: EdgeClickEnrichment;
  /** The links stream into the edge store: redirectMode=edge only. */
  readonly edgeStoreSync?: EdgeStoreSync;
  /** The backfill of edge clicks from the distribution's standard logs: redirectMode=edge only. */
  readonly edgeLogBackfill?: EdgeLogBackfill;
  readonly enrichment: ClickEnrichment;
  readonly aggregation: Aggregation;
  readonly rollup: Rollup;
  readonly statisticsApi: StatisticsApi;
  readonly dashboard: DashboardSite;
  /** Logical ID to the path of the element that holds it, to refuse two parts naming a resource alike. */
  private allocatedLogicalIds?: Map<string, string>;

  constructor(scope: Construct, id: string, props: ClickAnalyticsStackProps = {}) {
    super(scope, id, props);
    const reportingTimeZone = parseTimeZone('reportingTimeZone', props.reportingTimeZone ?? 'UTC');

    // What the stages share: the tables (each stage is granted what it uses on them), and where alarms go.
    this.tables = new ClickTables(this, 'Tables', { edgeStore: props.redirectMode === 'edge' });
    const { linksTable, saltsTable, rawClicksTable, quarterHourTable, dailyTable, monthlyTable, pendingRollupsTable, apiKeysTable, apiRequestCountsTable } =
      this.tables;
    this.alarms = new AlarmTopic(this, 'Alarms', { email: props.alarmEmail });

    // 2. The click queue and its enrichment into raw clicks. Built before the redirect, which sends into it.
    this.enrichment = new ClickEnrichment(this, 'Enrichment', {
      rawClicksTable,
      alarmTopic: this.alarms,
      lagBudget: AGGREGATION_LAG_BUDGET,
      geoipDatabasePath: props.geoipDatabasePath,
      maxConcurrency: props.enrichmentMaxConcurrency,
      batchWindow: props.enrichmentBatchWindow,
      maxReceiveCount: props.clickMaxReceiveCount,
      queueDepthAlarmThreshold: props.queueDepthAlarmThreshold,
    });
    // What both consumers of the edge's logs (real-time, standard) make clicks with, as the origin redirect does.
    const edgeClickConsumer: EdgeClickConsumerProps = {
      rawClicksTable,
      linksTable,
      saltsTable,
      visitorSaltPeriod: props.visitorSaltPeriod,
      linkCacheTtlSeconds: props.linkCacheTtlSeconds,
      geoipDatabasePath: props.geoipDatabasePath,
      alarmTopic: this.alarms,
    };
    // 1a. In edge mode, the CloudFront Function that answers stored links, and the stream its clicks go to.
    if (props.redirectMode === 'edge') {
      this.edgeRedirects = new EdgeRedirects(this, 'EdgeRedirects');
      // 1b. The store follows the links; 2a. the redirects the edge answered become raw clicks.
      this.edgeStoreSync = new EdgeStoreSync(this, 'EdgeStoreSync', {
        linksTable,
        keyValueStore: this.edgeRedirects.keyValueStore,
        reportingTimeZone,
        alarmTopic: this.alarms,
      });
      this.edgeEnrichment = new EdgeClickEnrichment(this, 'EdgeEnrichment', {
        ...edgeClickConsumer,
        clickStream: this.edgeRedirects.clickStream,
        lagBudget: AGGREGATION_LAG_BUDGET,
      });
    }
    // 1. CloudFront and the HTTP API in front of the redirect, which answers and sends the click on.
    this.edge = new RedirectEdge(this, 'Edge', {
      linksTable,
      saltsTable,
      clickQueue: this.enrichment.queue,
      visitorSaltPeriod: props.visitorSaltPeriod,
      linkCacheTtlSeconds: props.linkCacheTtlSeconds,
      logRetention: props.redirectLogRetention,
      priceClass: props.priceClass,
      apiThrottle: props.apiThrottle,
      viewerRequestFunction: this.edgeRedirects?.redirectFunction,
      realtimeLogConfig: this.edgeRedirects?.clickLogConfig,
    });
    // 2b. In edge mode, the distribution's standard logs: the clicks the real-time log missed.
    if (props.redirectMode === 'edge') {
      this.edgeLogBackfill = new EdgeLogBackfill(this, 'EdgeLogBackfill', { ...edgeClickConsumer, distribution: this.edge.distribution });
    }
    // 3. The raw clicks stream into quarter-hour aggregates, marking the days to roll up.
    this.aggregation = new Aggregation(this, 'Aggregation', {
      rawClicksTable,
      quarterHourTable,
      pendingRollupsTable,
      reportingTimeZone,
      alarmTopic: this.alarms,
      lagBudget: AGGREGATION_LAG_BUDGET,
      batchWindow: props.aggregationBatchWindow,
      batchSize: props.aggregationBatchSize,
    });
    // 4. Pending days into daily and monthly aggregates, on a schedule.
    this.rollup = new Rollup(this, 'Rollup', {
      quarterHourTable,
      dailyTable,
      monthlyTable,
      pendingRollupsTable,
      reportingTimeZone,
      alarmTopic: this.alarms,
      aggregateFunction: this.aggregation.aggregateFunction,
      linksTable: this.edgeStoreSync === undefined ? undefined : linksTable,
    });
    // 5. Links and statistics, on the edge's HTTP API.
    this.statisticsApi = new StatisticsApi(this, 'StatisticsApi', {
      httpApi: this.edge.httpApi,
      stage: this.edge.stage,
      distribution: this.edge.distribution,
      linksTable,
      apiKeysTable,
      apiRequestCountsTable,
      quarterHourTable,
      dailyTable,
      monthlyTable,
      pendingRollupsTable,
      rawClicksTable,
      reportingTimeZone,
      publicBaseUrl: props.publicBaseUrl,
      allowPrivateDestinations: props.allowPrivateDestinations,
      requestsPerMinutePerKey: props.apiKeyRequestsPerMinute,
      routeThrottle: props.apiRouteThrottle,
    });
    // 6. The dashboard page, on the edge's distribution beside the API it calls.
    this.dashboard = new DashboardSite(this, 'Dashboard', { distribution: this.edge.distribution });
  }

  /**
   * The logical ID the element had when every resource sat directly in this stack, so splitting the stack
   * into parts replaced nothing (the stateful-resources infra test holds the deployed IDs). Two parts
   * holding a resource of the same name would get the same ID: refused here, naming both.
   */
  protected override allocateLogicalId(element: CfnElement): string {
    const logicalId = logicalIdOutsideParts(element);
    this.allocatedLogicalIds ??= new Map();
    const holder = this.allocatedLogicalIds.get(logicalId);
    if (holder !== undefined && holder !== element.node.path) {
      throw new Error(`${element.node.path} and ${holder} would share the logical ID ${logicalId}: rename one of them`);
    }
    this.allocatedLogicalIds.set(logicalId, element.node.path);
    return logicalId;
  }
}
