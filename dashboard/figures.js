/**
 * A statistics answer as the page shows it: the totals (with the change against the previous period when
 * asked), the chart, the same series as a table, and the five breakdowns with what `top` left out.
 */
import { drawChart } from './chart.js';
import { countryName, formatChange, formatCount, formatShare, h } from './dom.js';

/** @typedef {import('./api-types').StatsResponse} StatsResponse */
/** @typedef {keyof StatsResponse['breakdowns']} BreakdownField */

/** @type {readonly { field: BreakdownField, title: string, keyHeading: string, label?: (key: string) => string }[]} */
const BREAKDOWNS = [
  { field: 'referrers', title: 'Referrers', keyHeading: 'Referrer host' },
  { field: 'countries', title: 'Countries', keyHeading: 'Country', label: countryName },
  { field: 'devices', title: 'Devices', keyHeading: 'Device' },
  { field: 'browsers', title: 'Browsers', keyHeading: 'Browser' },
  { field: 'os', title: 'Operating systems', keyHeading: 'OS' },
];

const BUCKET_HEADINGS = { hour: 'Hour', day: 'Day', month: 'Month' };

/**
 * A bucket's start as its wall time in the answer's zone: `t` carries that zone's offset
 * (`2026-11-26T00:00:00-05:00`), so its first characters are the local date and time.
 * @param {string} t @param {StatsResponse['granularity']} granularity
 */
function bucketLabel(t, granularity) {
  if (granularity === 'month') return t.slice(0, 7);
  return granularity === 'day' ? t.slice(0, 10) : `${t.slice(0, 10)} ${t.slice(11, 16)}`;
}

/** @param {string} name @param {number} value @param {number | undefined} previous @param {number | null | undefined} change */
function total(name, value, previous, change) {
  return h(
    'div',
    { class: 'total' },
    h('dt', {}, name),
    h(
      'dd',
      {},
      h('span', { class: 'figure' }, formatCount(value)),
      previous === undefined || change === undefined
        ? null
        : h(
            'span',
            { class: 'change' },
            // No change is given against a previous period of 0.
            change === null ? `previous period: ${formatCount(previous)}` : `${formatChange(change)} on the previous period (${formatCount(previous)})`,
          ),
    ),
  );
}

/** @param {StatsResponse} stats */
function totals(stats) {
  const { previous, change } = stats;
  return h(
    'dl',
    { class: 'totals' },
    total(stats.includeBots ? 'Clicks (bots included)' : 'Clicks', stats.totals.clicks, previous?.totals.clicks, change?.clicks),
    total('Unique visitors', stats.totals.uniques, previous?.totals.uniques, change?.uniques),
    total('Bot clicks', stats.totals.botClicks, previous?.totals.botClicks, change?.botClicks),
  );
}

/** @param {StatsResponse} stats */
function seriesTable(stats) {
  const bucket = stats.granularity;
  const previous = stats.previous?.series;
  const headings = ['Clicks', 'Unique visitors', 'Bot clicks', ...(previous === undefined ? [] : ['Previous clicks', 'Previous unique visitors'])];
  const rows = stats.series.map((entry, index) => {
    const before = previous?.[index];
    const cells = [entry.clicks, entry.uniques, entry.botClicks, ...(before === undefined ? [] : [before.clicks, before.uniques])];
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, h('time', { datetime: entry.t }, bucketLabel(entry.t, stats.granularity))),
      ...cells.map((cell) => h('td', {}, formatCount(cell))),
    );
  });
  return h(
    'details',
    { class: 'series-table' },
    h('summary', {}, `Figures per ${bucket} (${stats.series.length} rows, ${stats.tz})`),
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'series' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, BUCKET_HEADINGS[bucket]), ...headings.map((heading) => h('th', { scope: 'col' }, heading)))),
        h('tbody', {}, ...rows),
      ),
    ),
  );
}

/** @param {StatsResponse} stats @param {(typeof BREAKDOWNS)[number]} breakdown */
function breakdownTable(stats, { field, title, keyHeading, label }) {
  const entries = stats.breakdowns[field];
  const others = stats.breakdownOthers[field];
  // Breakdowns count human clicks only.
  const humanClicks = stats.totals.clicks - (stats.includeBots ? stats.totals.botClicks : 0);
  /** @param {string} key @param {number} clicks @param {string} [rowClass] */
  const row = (key, clicks, rowClass) =>
    h('tr', rowClass === undefined ? {} : { class: rowClass }, h('th', { scope: 'row' }, key), h('td', {}, formatCount(clicks)), h('td', {}, formatShare(clicks, humanClicks)));
  const id = `breakdown-${field}`;
  return h(
    'section',
    { class: 'breakdown', 'aria-labelledby': id },
    h('h3', { id }, title),
    entries.length === 0
      ? h('p', { class: 'empty' }, 'No clicks in this range.')
      : h(
          'table',
          {},
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, keyHeading), h('th', { scope: 'col' }, 'Clicks'), h('th', { scope: 'col' }, 'Share'))),
          h(
            'tbody',
            {},
            ...entries.map((entry) => row(label === undefined ? entry.key : label(entry.key), entry.clicks)),
            others.keys > 0 ? row(`Others (${formatCount(others.keys)})`, others.clicks, 'others') : null,
          ),
        ),
  );
}

/**
 * Shows `stats` in `region`, replacing what was there.
 * @param {HTMLElement} region @param {StatsResponse} stats @returns {() => void} What removes the chart.
 */
export function showFigures(region, stats) {
  const chart = h('div', {
    class: 'chart',
    role: 'img',
    'aria-label': `Chart of clicks, unique visitors and bot clicks per ${stats.granularity}; the table below it has the same figures.`,
  });
  region.replaceChildren(
    totals(stats),
    chart,
    seriesTable(stats),
    h('div', { class: 'breakdowns' }, ...BREAKDOWNS.map((breakdown) => breakdownTable(stats, breakdown))),
    h('p', { class: 'source' }, `Answered from the ${stats.source} aggregates.`),
  );
  return drawChart(chart, stats);
}
