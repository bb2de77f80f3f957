/**
 * `npm start`: the whole click-analytics pipeline on this machine, no AWS account needed.
 * Settings come from the environment: PORT, DATA_DIR, CLICKS_API_KEY, TRUST_PROXY,
 * TTL_SWEEP_INTERVAL_SECONDS, REPORTING_TIME_ZONE, REDIRECT_MODE, AGGREGATION_BATCH_WINDOW_SECONDS, LOCAL_FAULTS (the README's table).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DASHBOARD_PATH } from '../lib/dashboard-files';
import { parseFaultPlan } from './faults';
import { parseEndpointOverrides } from './lambda/functions';
import { DEMO_CODE, DEMO_URL, startLocalStack, type LocalStack } from './stack';

/** A second Ctrl-C skips the clean stop: exit as a shell reports an interrupted process (128 + SIGINT). */
const FORCED_EXIT_CODE = 130;

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 3000;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be 0-65535, got "${raw}"`);
  return port;
}

const log = (line: string): void => {
  process.stderr.write(`[local] ${line}\n`);
};

async function main(): Promise<void> {
  const port = parsePort(process.env.PORT);
  const dataDir = path.resolve(process.env.DATA_DIR || '.data');
  const generatedKey = !process.env.CLICKS_API_KEY;
  const apiKey = process.env.CLICKS_API_KEY || `local-${randomBytes(18).toString('base64url')}`;
  const trustProxy = process.env.TRUST_PROXY === '1';
  // Parsed before anything starts: a typo fails at once, not after the emulators are up.
  const faults = parseFaultPlan(process.env.LOCAL_FAULTS);
  const endpointOverrides = parseEndpointOverrides(process.env.LOCAL_ENDPOINTS);
  // The deploy-time options a developer needs locally: the zone daily and monthly items are cut in,
  // where redirects are answered (edge mode runs the CloudFront Function in front of the HTTP front), and
  // how long the aggregator's batches gather (the end-to-end tests shorten it: each of their waits has one).
  const reportingTimeZone = process.env.REPORTING_TIME_ZONE?.trim();
  const redirectMode = process.env.REDIRECT_MODE?.trim();
  const aggregationBatchWindowSeconds = process.env.AGGREGATION_BATCH_WINDOW_SECONDS?.trim();
  const context = {
    ...(reportingTimeZone ? { reportingTimeZone } : {}),
    ...(redirectMode ? { redirectMode } : {}),
    ...(aggregationBatchWindowSeconds ? { aggregationBatchWindowSeconds } : {}),
  };

  let stack: LocalStack | undefined;
  let signals = 0;
  const shutdown = (exitCode: number): void => {
    signals += 1;
    if (signals > 1) {
      // Impatient second signal: leave now. DynamoDB Local's exit hook SIGKILLs the JVM if it still
      // runs (a kill by pid here could throw, or hit a reused pid, once the JVM is gone).
      process.exit(FORCED_EXIT_CODE);
    }
    log('stopping (draining accepted clicks; press Ctrl-C again to force)');
    void (stack?.stop() ?? Promise.resolve()).then(
      () => process.exit(exitCode),
      (error: unknown) => {
        log(`stop failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown(0));
  process.on('SIGTERM', () => shutdown(0));
  const crash = (error: unknown): void => {
    log(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    shutdown(1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);

  log(`starting (data in ${dataDir})`);
  const verbose = process.env.LOCAL_VERBOSE === '1';
  stack = await startLocalStack({ port, dataDir, apiKey, trustProxy, log, faults, context, verbose, endpointOverrides });
  if (signals > 0) return; // Ctrl-C during start-up: shutdown() already handles it.
  const { baseUrl } = stack;
  const keyShown = generatedKey ? apiKey : '$CLICKS_API_KEY';
  const lines = [
    `click-analytics local stack ready at ${baseUrl}`,
    `  admin API key:  ${generatedKey ? `${apiKey}  (generated; set CLICKS_API_KEY to choose one)` : '(from CLICKS_API_KEY)'}`,
    `  demo link:      ${baseUrl}/${DEMO_CODE} -> ${DEMO_URL}`,
    `  dashboard:      ${baseUrl}${DASHBOARD_PATH}   (paste an owner key, or the admin key)`,
    `  stats:          ${baseUrl}/api/links/${DEMO_CODE}/stats`,
    `                  curl -H "Authorization: Bearer ${keyShown}" ${baseUrl}/api/links/${DEMO_CODE}/stats`,
    `  owner keys:     ${dataDir === path.resolve('.data') ? '' : `DATA_DIR=${dataDir} `}npm run keys -- create --owner NAME   (also list, revoke)`,
    `  daily/monthly:  rolled up every few minutes; now: curl -X POST -H "Authorization: Bearer ${keyShown}" ${baseUrl}/_local/schedules/RollupSchedule/run`,
    `  data folder:    ${dataDir}`,
    ...(Object.keys(faults).length > 0 ? [`  faults:         ${JSON.stringify(faults)} (counts in ${path.join(dataDir, 'local-faults.json')})`] : []),
    '  note: DynamoDB Local listens on all network interfaces (it has no host option); the rest binds 127.0.0.1.',
    '  Ctrl-C stops cleanly.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  log(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
