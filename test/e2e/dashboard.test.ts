/**
 * The dashboard page in a real browser (Chromium, driven by playwright-core) against the local stack,
 * after real traffic through the redirect: the figures it shows are the API's for the same query, and
 * the truth of the visits, for a link and for the owner, in two time zones; another owner's link shows
 * no figure; the key stays in the tab's sessionStorage; the main controls work from the keyboard;
 * nothing scrolls sideways at 360 px; the DB-IP attribution is there; a share link opens one link
 * read-only until it is revoked; no CSP violation. Takes the README's screenshots: into docs/ with
 * `npm run screenshots`, else into the stack's data folder, so a test run leaves the tree unchanged.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page, type Response as PageResponse } from 'playwright-core';
import type { StatsResponse } from '../../lambdas/domain/stats';
import type { LinkView } from '../../lambdas/handlers/api/links';
import { runTool } from '../fixtures/cli';
import { StackClient, tearDownLocalStack } from '../fixtures/stack-client';
import { syntheticVisits, tally, visitorOf, type SyntheticVisit, type Tally } from '../fixtures/synthetic-traffic';
import { eventually, startLocalStackProcess, type LocalStackProcess } from '../fixtures/local/local-stack-process';

/** Debian's package; CHROMIUM_PATH names another build. Nothing here downloads a browser. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const DOCS = path.resolve(__dirname, '../../docs');
/** Set by `npm run screenshots`. */
const UPDATE_DOCS = process.env.UPDATE_DOCS_SCREENSHOTS === '1';
const screenshotPath = (name: string): string => path.join(UPDATE_DOCS ? DOCS : stack.dataDir, name);
const DESKTOP = { width: 1280, height: 900 };
const NARROW = { width: 360, height: 780 };
const NEW_YORK = 'America/New_York';

let stack: LocalStackProcess;
let client: StackClient;
let browser: Browser;
let aliceKey: string;
const codes = { launch: '', docs: '', bobs: '' };
const truth: { alice?: Tally; launch?: Tally } = {};
/** What the pages reported that they should not: script errors and CSP violations. */
const pageProblems: string[] = [];

async function newKey(owner: string): Promise<string> {
  const run = await runTool('bin/keys.ts', ['create', '--owner', owner], { DATA_DIR: stack.dataDir });
  if (run.exitCode !== 0) throw new Error(`npm run keys create --owner ${owner}: ${run.stderr}`);
  return run.stdout.trimEnd().split('\n').at(-1) ?? '';
}

async function createLink(key: string, url: string): Promise<string> {
  const response = await client.api('/api/links', { method: 'POST', body: JSON.stringify({ url }) }, key);
  if (response.status !== 201) throw new Error(`creating ${url}: HTTP ${response.status}`);
  return ((await response.json()) as { code: string }).code;
}

const visitsTo = (code: string, visits: readonly SyntheticVisit[]) => visits.map((visit) => ({ code, visit }));
const truthOf = (visits: readonly SyntheticVisit[]): Tally => tally(visits.map((visit) => ({ human: visit.human, visitor: visitorOf(visit) })));

/** The same request the page made (its path and query), with the key given. */
async function apiAnswer<T>(pageRequest: PageResponse, key: string): Promise<T> {
  const { pathname, search } = new URL(pageRequest.url());
  const response = await client.api(`${pathname}${search}`, {}, key);
  expect(response.status).toBe(200);
  return (await response.json()) as T;
}

const count = (text: string): number => Number(text.replace(/[^\d]/g, ''));

/** A breakdown key as the page writes it, back to the API's: countries are named there, `Germany (DE)`. */
const keyOf = (label: string): string => /\(([A-Z]{2})\)$/.exec(label)?.[1] ?? label;

/**
 * The figures on the page, as numbers: the totals in order, every row of the series table (start, then its
 * cells), and the first entry of each breakdown. The table may be folded away: its cells are read as text.
 */
async function shownFigures(page: Page) {
  const rows = page.locator('table.series tbody tr');
  const starts = await Promise.all((await rows.locator('time').all()).map((time) => time.getAttribute('datetime')));
  const columns = (await page.locator('table.series thead th').count()) - 1;
  const cells = (await rows.locator('td').allTextContents()).map(count);
  const breakdowns = await page.locator('.breakdown').all();
  return {
    totals: (await page.locator('.totals .figure').allTextContents()).map(count),
    series: starts.map((t, index) => ({ t, values: cells.slice(index * columns, (index + 1) * columns) })),
    topEntries: await Promise.all(
      breakdowns.map(async (breakdown) => {
        const first = breakdown.locator('tbody tr').first();
        if ((await first.count()) === 0) return null;
        return { key: keyOf((await first.locator('th').textContent()) ?? ''), clicks: count((await first.locator('td').first().textContent()) ?? '') };
      }),
    ),
  };
}

/** What the page must show for an answer. */
function expectedFigures(stats: StatsResponse) {
  const fields = ['referrers', 'countries', 'devices', 'browsers', 'os'] as const;
  return {
    totals: [stats.totals.clicks, stats.totals.uniques, stats.totals.botClicks],
    series: stats.series.map((entry, index) => {
      const previous = stats.previous?.series[index];
      return { t: entry.t, values: [entry.clicks, entry.uniques, entry.botClicks, ...(previous === undefined ? [] : [previous.clicks, previous.uniques])] };
    }),
    topEntries: fields.map((field) => stats.breakdowns[field][0] ?? null),
  };
}

/** Waits until the page has drawn everything it asked for. */
const settled = (page: Page): Promise<unknown> => page.waitForSelector('main[aria-busy="false"]', { state: 'attached' });

/** Does `act`, and gives back the stats request it made the page send (the one matching `wanted`). */
async function statsRequestOf(page: Page, act: () => Promise<unknown>, wanted: (query: URLSearchParams) => boolean = () => true): Promise<PageResponse> {
  const [response] = await Promise.all([
    page.waitForResponse((candidate) => {
      const url = new URL(candidate.url());
      return url.pathname.endsWith('/stats') && wanted(url.searchParams);
    }),
    act(),
  ]);
  await settled(page);
  return response;
}

async function newPage(timezoneId: string): Promise<Page> {
  const context = await browser.newContext({ timezoneId, locale: 'en-US', viewport: DESKTOP });
  const page = await context.newPage();
  page.on('pageerror', (error) => pageProblems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    if (/Content[- ]Security[- ]Policy/i.test(message.text())) pageProblems.push(message.text());
  });
  return page;
}

/** Lets the page lay itself out again (ResizeObserver callbacks run before the next frame). */
const nextFrames = (page: Page): Promise<unknown> => page.evaluate('new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))');

async function expectNoSidewaysScroll(page: Page): Promise<void> {
  await nextFrames(page);
  const widths = await page.evaluate<[number, number]>('[document.documentElement.scrollWidth, document.documentElement.clientWidth]');
  expect(widths[0]).toBeLessThanOrEqual(widths[1]);
  const chart = await page.locator('.chart canvas').first().boundingBox();
  expect(chart?.width).toBeLessThanOrEqual(NARROW.width);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`The dashboard test needs Chromium, not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH.`);
  }
  [stack, browser] = await Promise.all([
    startLocalStackProcess(),
    chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }),
  ]);
  client = new StackClient(stack);
  const [alice, bob] = await Promise.all([newKey('alice'), newKey('bob')]);
  aliceKey = alice;
  codes.launch = await createLink(alice, 'https://example.com/launch');
  codes.docs = await createLink(alice, 'https://example.org/docs/getting-started?from=newsletter');
  codes.bobs = await createLink(bob, 'https://example.net/bob');

  // People come back (60 of them over 150 visits), from around the world, with bots among them.
  const visits = syntheticVisits(150, 10, { people: 60 });
  const launch = visits.filter((_, index) => index % 3 !== 2);
  const docs = visits.filter((_, index) => index % 3 === 2);
  const bobs = syntheticVisits(12, 11);
  await client.visitAll([...visitsTo(codes.launch, launch), ...visitsTo(codes.docs, docs), ...visitsTo(codes.bobs, bobs)], 8);
  truth.alice = truthOf([...launch, ...docs]);
  truth.launch = truthOf(launch);

  // The pipeline has settled when alice's figures are the truth; then the rollup writes days and months.
  const ownerTotals = async (): Promise<StatsResponse['totals']> =>
    ((await (await client.api('/api/stats', {}, alice)).json()) as StatsResponse).totals;
  await eventually(async () => expect(await ownerTotals()).toEqual(truth.alice), 60_000, 250);
  await client.rollUpEveryDay();
  expect(await ownerTotals()).toEqual(truth.alice);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await tearDownLocalStack(stack, client);
});

describe('the dashboard in Chromium', () => {
  let page: Page;

  it('asks for a key, says when one is refused, and keeps the accepted one in this tab only', async () => {
    page = await newPage(NEW_YORK);
    await page.goto(`${stack.baseUrl}/dashboard`);
    await page.locator('#api-key').fill('ck_000000000000_not-a-real-key-at-all-000000000000');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'The API did not accept this key' }).waitFor();

    const overview = await statsRequestOf(page, async () => {
      await page.locator('#api-key').fill(aliceKey);
      await page.keyboard.press('Enter');
    });
    expect(new URL(overview.url()).pathname).toBe('/api/stats');
    expect(await page.evaluate<string | null>("sessionStorage.getItem('click-analytics.api-key')")).toBe(aliceKey);
    expect(await page.evaluate<number>('localStorage.length')).toBe(0);
    expect(await page.context().cookies()).toEqual([]);
    await expect(page.locator('#forget-key').isVisible()).resolves.toBe(true);
  });

  it("shows the owner's figures as the API gives them, in the browser's zone by default", async () => {
    // Reloaded: the key is still there, in this tab.
    const request = await statsRequestOf(page, () => page.reload());
    const stats = await apiAnswer<StatsResponse>(request, aliceKey);
    expect(await page.locator('#tz').inputValue()).toBe(NEW_YORK);
    expect(stats.tz).toBe(NEW_YORK);
    expect(stats.totals).toEqual(truth.alice);
    expect(await shownFigures(page)).toEqual(expectedFigures(stats));
    expect(stats.series.filter((entry) => entry.clicks > 0).length).toBeGreaterThan(0);

    // The links, newest first, with their clicks of the last 7 days.
    const listed = (await (await client.api('/api/links', {}, aliceKey)).json()) as { links: LinkView[] };
    const rows = page.locator('.links tbody tr');
    expect(await rows.locator('th a').allTextContents()).toEqual(listed.links.map((link) => link.code));
    expect((await rows.locator('td.number').allTextContents()).map(count)).toEqual(listed.links.map((link) => link.clicksLast7Days));
    expect(listed.links.map((link) => link.code)).toEqual([codes.docs, codes.launch]);
    await page.screenshot({ path: screenshotPath('dashboard.png'), fullPage: true });
  });

  it("shows a link's figures, with the previous period and bots, in a second zone and by the hour", async () => {
    const opened = await statsRequestOf(page, () => page.getByRole('link', { name: codes.launch, exact: true }).click());
    expect(new URL(page.url()).hash).toBe(`#link=${codes.launch}`);
    expect((await apiAnswer<StatsResponse>(opened, aliceKey)).totals).toEqual(truth.launch);

    const compared = await statsRequestOf(
      page,
      async () => {
        await page.locator('#compare').check();
        await page.locator('#include-bots').check();
      },
      (query) => query.get('compare') === 'previous' && query.get('includeBots') === 'true',
    );
    const withBots = await apiAnswer<StatsResponse>(compared, aliceKey);
    const launch = truth.launch as Tally;
    expect(withBots.totals).toEqual({ ...launch, clicks: launch.clicks + launch.botClicks });
    expect(await shownFigures(page)).toEqual(expectedFigures(withBots));
    expect(await page.locator('.totals dt').first().textContent()).toBe('Clicks (bots included)');
    // Nothing happened in the previous 7 days: no percentage to give.
    expect(withBots.change).toEqual({ clicks: null, uniques: null, botClicks: null });
    expect(await page.locator('.totals .change').first().textContent()).toBe('previous period: 0');

    const kolkata = (await page.locator('#tz option[value="Asia/Kolkata"], #tz option[value="Asia/Calcutta"]').first().getAttribute('value')) ?? '';
    const hourly = await statsRequestOf(
      page,
      async () => {
        await page.locator('#tz').selectOption(kolkata);
        await page.locator('#granularity').selectOption('hour');
      },
      (query) => query.get('tz') === kolkata && query.get('granularity') === 'hour',
    );
    const byHour = await apiAnswer<StatsResponse>(hourly, aliceKey);
    expect(byHour.totals.clicks).toBe(launch.clicks + launch.botClicks);
    // Kolkata's hours start at :30 UTC.
    expect(byHour.series[0].t).toMatch(/T\d\d:00:00\+05:30$/);
    expect(await shownFigures(page)).toEqual(expectedFigures(byHour));
    expect(new URL(page.url()).hash).toContain('granularity=hour');
  });

  it("shows another owner's link as no link at all, without a figure", async () => {
    await page.goto(`${stack.baseUrl}/dashboard#link=${codes.bobs}`);
    await settled(page);
    await page.getByRole('alert').filter({ hasText: 'No link has this code.' }).waitFor();
    expect(await page.locator('.totals, .chart, .breakdown, .link-details').count()).toBe(0);
  });

  it('is usable from the keyboard: every control in reading order, focus visible, a checkbox toggled with Space', async () => {
    // Loaded afresh, so Tab starts at the top of the page.
    await statsRequestOf(page, () => page.goto(`${stack.baseUrl}/dashboard#link=${codes.launch}`));
    await statsRequestOf(page, () => page.reload());
    const reached: string[] = [];
    for (let press = 0; press < 80 && reached.at(-1) !== 'IP geolocation by DB-IP'; press++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate<string>("document.activeElement.id || document.activeElement.textContent.trim() || document.activeElement.tagName");
      if (focused !== reached.at(-1)) reached.push(focused);
    }
    const mainControls = ['forget-key', 'All your links', 'granularity', 'from', 'to', 'tz', 'compare', 'include-bots', 'share-label', 'Create a share link', 'IP geolocation by DB-IP'];
    expect(reached.filter((focused) => mainControls.includes(focused))).toEqual(mainControls);

    await page.locator('#granularity').focus();
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string>('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');

    const toggled = await statsRequestOf(page, async () => {
      await page.locator('#compare').focus();
      await page.keyboard.press('Space');
    });
    expect(new URL(toggled.url()).searchParams.get('compare')).toBe('previous');
  });

  it('reads at 360 px without scrolling sideways, the chart as wide as the screen at most', async () => {
    await page.setViewportSize(NARROW);
    await expectNoSidewaysScroll(page);
    await page.evaluate("document.querySelector('.totals').scrollIntoView()");
    await page.screenshot({ path: screenshotPath('dashboard-360.png') });
    await page.locator('.series-table summary').click();
    await expectNoSidewaysScroll(page);
    await statsRequestOf(page, () => page.getByRole('link', { name: 'All your links' }).click());
    await expectNoSidewaysScroll(page);
    await page.setViewportSize(DESKTOP);
  });

  it('credits DB-IP for the country data, as its CC BY licence asks', async () => {
    const attribution = page.getByRole('link', { name: 'IP geolocation by DB-IP' });
    expect(await attribution.getAttribute('href')).toBe('https://db-ip.com');
  });

  it('makes a share link that opens the link read-only, without a key, until it is revoked', async () => {
    await statsRequestOf(page, () => page.goto(`${stack.baseUrl}/dashboard#link=${codes.launch}`));
    await page.locator('#share-label').fill('for the team');
    await page.getByRole('button', { name: 'Create a share link' }).click();
    const address = await page.locator('#share-url').inputValue();
    // The API's address of the share, with the link's code the page needs beside the token.
    expect(address.startsWith(`${stack.baseUrl}/dashboard#share=`)).toBe(true);
    expect(new URL(address).hash).toMatch(new RegExp(`^#share=cs_[a-z0-9]{12}_[A-Za-z0-9]{40}&link=${codes.launch}$`));
    await page.locator('.shares tbody tr').filter({ hasText: 'for the team' }).filter({ hasText: 'active' }).waitFor();

    const viewer = await newPage('UTC');
    const shared = await statsRequestOf(viewer, () => viewer.goto(address));
    const token = new URLSearchParams(new URL(address).hash.slice(1)).get('share') ?? '';
    const stats = await apiAnswer<StatsResponse>(shared, token);
    expect(stats.tz).toBe('UTC');
    expect(await shownFigures(viewer)).toEqual(expectedFigures(stats));
    expect(await viewer.locator('#shared-note').isVisible()).toBe(true);
    expect(await viewer.locator('#api-key, #forget-key:visible, .shares, .crumbs, .links').count()).toBe(0);

    await page.locator('.shares tbody tr').filter({ hasText: 'for the team' }).getByRole('button', { name: 'Revoke' }).click();
    await page.locator('.shares tbody tr').filter({ hasText: 'for the team' }).filter({ hasText: 'revoked' }).waitFor();
    await viewer.reload();
    await settled(viewer);
    await viewer.getByRole('alert').filter({ hasText: 'This share link opens nothing any more' }).waitFor();
    expect(await viewer.locator('.totals').count()).toBe(0);
    await viewer.context().close();
  });

  it('ran without a script error or a CSP violation', () => {
    expect(pageProblems).toEqual([]);
  });
});
