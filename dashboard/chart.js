/**
 * The series of a statistics answer as a uPlot chart: clicks, unique visitors and bot clicks per bucket,
 * the previous period's clicks and visitors dashed beside them, time labels in the answer's zone. It
 * follows its container's width. The figures table under it says the same in words.
 */
import uPlot from './vendor/uPlot.esm.js';

/** @typedef {import('./api-types').StatsResponse} StatsResponse */

const COLORS = { clicks: '#1f5fbf', uniques: '#1d7a46', botClicks: '#a8501b' };
const PREVIOUS_DASH = [6, 4];
const NARROW_WIDTH = 600;
const DAY_S = 86_400;
/** uPlot steps by calendar months and years from these lengths on. */
const MONTH_S = 30 * DAY_S;
const YEAR_S = 365 * DAY_S;
const MONTH_STEPS = [...[1, 2, 3, 4, 6].map((months) => months * MONTH_S), ...[1, 2, 5, 10].map((years) => years * YEAR_S)];
/** Steps of the time axis, no finer than a bucket: days are not cut into hours. Hours keep uPlot's own. */
const TIME_STEPS = { hour: undefined, day: [...[1, 2, 3, 7, 14].map((days) => days * DAY_S), ...MONTH_STEPS], month: MONTH_STEPS };

/** @param {number} width */
const heightFor = (width) => (width < NARROW_WIDTH ? 220 : 300);

/** @param {StatsResponse} stats @returns {uPlot.AlignedData} */
function dataOf(stats) {
  const current = stats.series;
  /** @type {(number | null)[][]} */
  const values = [current.map((entry) => entry.clicks), current.map((entry) => entry.uniques), current.map((entry) => entry.botClicks)];
  if (stats.previous !== undefined) {
    // The previous period has as many buckets: the first beside the first.
    const previous = stats.previous.series;
    values.push(current.map((_, index) => previous[index]?.clicks ?? null), current.map((_, index) => previous[index]?.uniques ?? null));
  }
  return [current.map((entry) => Date.parse(entry.t) / 1000), ...values];
}

/** @param {string} label @param {string} stroke @param {boolean} [dashed] @returns {uPlot.Series} */
const line = (label, stroke, dashed = false) => ({ label, stroke, width: 2, ...(dashed ? { dash: PREVIOUS_DASH } : {}) });

/**
 * Draws the chart into `container` (already in the page, so it has a width) and keeps it as wide as the container.
 * @param {HTMLElement} container @param {StatsResponse} stats @returns {() => void} What removes it.
 */
export function drawChart(container, stats) {
  const width = container.clientWidth;
  /** @type {uPlot.Series[]} */
  const series = [
    {},
    line(stats.includeBots ? 'Clicks (bots included)' : 'Clicks', COLORS.clicks),
    line('Unique visitors', COLORS.uniques),
    line('Bot clicks', COLORS.botClicks),
  ];
  if (stats.previous !== undefined) series.push(line('Previous clicks', COLORS.clicks, true), line('Previous unique visitors', COLORS.uniques, true));
  const plot = new uPlot(
    {
      width,
      height: heightFor(width),
      series,
      scales: { y: { range: (_plot, _min, max) => [0, Math.max(1, max)] } },
      axes: [{ incrs: TIME_STEPS[stats.granularity] }, { values: (_plot, ticks) => ticks.map((tick) => (Number.isInteger(tick) ? String(tick) : '')) }],
      // Time labels in the zone of the answer, not the browser's.
      tzDate: (seconds) => uPlot.tzDate(new Date(seconds * 1000), stats.tz),
    },
    dataOf(stats),
    container,
  );
  const resized = new ResizeObserver(() => {
    const newWidth = container.clientWidth;
    if (newWidth !== plot.width) plot.setSize({ width: newWidth, height: heightFor(newWidth) });
  });
  resized.observe(container);
  return () => {
    resized.disconnect();
    plot.destroy();
  };
}
