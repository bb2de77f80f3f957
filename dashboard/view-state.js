/**
 * What the page shows, kept in the URL's fragment so every view is a link: which link (or the owner's
 * overview, or a shared link), and the statistics controls. The fragment never reaches a server, so a
 * share token in it stays in the browser.
 */

/** @typedef {'hour' | 'day' | 'month'} Granularity */

/**
 * @typedef {object} ViewState
 * @property {string | null} link  The code of the link shown; null for the owner's overview.
 * @property {string | null} share  The token of a shared link's read-only view.
 * @property {Granularity} granularity
 * @property {string | null} from  First day shown (YYYY-MM-DD in tz); null for the last 7 days.
 * @property {string | null} to  Last day shown, included; null for today.
 * @property {string} tz  IANA zone the buckets and days are cut in.
 * @property {boolean} compare  With the period of as many buckets just before.
 * @property {boolean} includeBots  Clicks count bot clicks too.
 */

/** @type {readonly Granularity[]} */
export const GRANULARITIES = ['hour', 'day', 'month'];
const DEFAULT_DAYS = 7;
/** Breakdown entries asked for; the rest is summed up as "others". */
const TOP_ENTRIES = '10';
const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

export const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** @param {string} tz */
function isTimeZone(tz) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** @param {string} value @returns {value is Granularity} */
const isGranularity = (value) => GRANULARITIES.some((granularity) => granularity === value);

/** @param {string | null} value */
const dayOrNull = (value) => (value !== null && DAY_PATTERN.test(value) ? value : null);

/** The day after or before `day` (YYYY-MM-DD), as a calendar date. @param {string} day @param {number} days */
const addDays = (day, days) => new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

/** Today's date in a zone. @param {string} tz @param {Date} now */
const todayIn = (tz, now) =>
  new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);

/**
 * The view a fragment (`#link=abc&granularity=hour`) names; what it leaves out or gets wrong takes the default.
 * @param {string} hash @returns {ViewState}
 */
export function readState(hash) {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const granularity = params.get('granularity') ?? '';
  const tz = params.get('tz') ?? '';
  return {
    link: params.get('link') || null,
    share: params.get('share') || null,
    granularity: isGranularity(granularity) ? granularity : 'day',
    from: dayOrNull(params.get('from')),
    to: dayOrNull(params.get('to')),
    tz: tz !== '' && isTimeZone(tz) ? tz : browserZone(),
    compare: params.get('compare') === 'previous',
    includeBots: params.get('includeBots') === 'true',
  };
}

/** The fragment of a view: only what differs from the defaults, so a shared URL stays short. @param {ViewState} state */
export function writeState(state) {
  const params = new URLSearchParams();
  if (state.share !== null) params.set('share', state.share);
  if (state.link !== null) params.set('link', state.link);
  if (state.granularity !== 'day') params.set('granularity', state.granularity);
  if (state.from !== null) params.set('from', state.from);
  if (state.to !== null) params.set('to', state.to);
  if (state.tz !== browserZone()) params.set('tz', state.tz);
  if (state.compare) params.set('compare', 'previous');
  if (state.includeBots) params.set('includeBots', 'true');
  return `#${params.toString()}`;
}

/** The days shown, defaults filled in: the last 7 days up to today in the view's zone. @param {ViewState} state @param {Date} now */
export function shownDays(state, now) {
  const to = state.to ?? todayIn(state.tz, now);
  return { from: state.from ?? addDays(to, 1 - DEFAULT_DAYS), to };
}

/**
 * The stats query of a view. Days without a time are midnights in `tz` to the API, and its `to` is
 * exclusive: the day after the last one shown.
 * @param {ViewState} state @param {Date} now
 */
export function statsQuery(state, now) {
  const { from, to } = shownDays(state, now);
  const query = new URLSearchParams({ from, to: addDays(to, 1), granularity: state.granularity, tz: state.tz, top: TOP_ENTRIES });
  if (state.compare) query.set('compare', 'previous');
  if (state.includeBots) query.set('includeBots', 'true');
  return query;
}
