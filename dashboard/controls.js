/**
 * The statistics controls: granularity, the days shown, the time zone, the comparison with the previous
 * period and whether bot clicks count as clicks. A change is applied at once.
 */
import { h } from './dom.js';
import { browserZone, GRANULARITIES, shownDays } from './view-state.js';

/** @typedef {import('./view-state.js').ViewState} ViewState */
/** @typedef {import('./view-state.js').Granularity} Granularity */

const GRANULARITY_LABELS = { hour: 'Hours', day: 'Days', month: 'Months' };

/** Every zone this browser knows, UTC and the browser's own first. @param {string} shown */
function zoneOptions(shown) {
  const own = browserZone();
  const zones = [...new Set(['UTC', own, shown, ...Intl.supportedValuesOf('timeZone')])];
  return zones.map((zone) => h('option', { value: zone }, zone === own ? `${zone} (this browser)` : zone));
}

/** @param {string} id @param {string} text @param {HTMLElement} control */
const field = (id, text, control) => h('div', { class: 'field' }, h('label', { for: id }, text), control);

/** @param {string} id @param {string} text @param {HTMLInputElement} box */
const checkbox = (id, text, box) => h('div', { class: 'field check' }, box, h('label', { for: id }, text));

/**
 * @param {ViewState} initial
 * @param {(state: ViewState) => void} apply  Called with the view the controls now ask for.
 */
export function statsControls(initial, apply) {
  let state = initial;
  const granularity = h('select', { id: 'granularity' }, ...GRANULARITIES.map((value) => h('option', { value }, GRANULARITY_LABELS[value])));
  const from = h('input', { id: 'from', type: 'date', required: true });
  const to = h('input', { id: 'to', type: 'date', required: true });
  const tz = h('select', { id: 'tz' }, ...zoneOptions(initial.tz));
  const compare = h('input', { id: 'compare', type: 'checkbox' });
  const includeBots = h('input', { id: 'include-bots', type: 'checkbox' });

  /** Shows a view's values (the default days too, which follow the zone). @param {ViewState} next */
  const show = (next) => {
    state = next;
    const days = shownDays(next, new Date());
    granularity.value = next.granularity;
    from.value = days.from;
    to.value = days.to;
    tz.value = next.tz;
    compare.checked = next.compare;
    includeBots.checked = next.includeBots;
  };

  const form = h(
    'form',
    { class: 'controls', 'aria-label': 'What to show' },
    field('granularity', 'Per', granularity),
    field('from', 'From', from),
    field('to', 'To (included)', to),
    field('tz', 'Time zone', tz),
    checkbox('compare', 'Compare with the previous period', compare),
    checkbox('include-bots', 'Count bot clicks as clicks', includeBots),
  );
  form.addEventListener('submit', (event) => event.preventDefault());
  form.addEventListener('change', (event) => {
    // Days typed in stay as typed; untouched, they remain "the last 7 days".
    const daysChanged = event.target === from || event.target === to;
    if (daysChanged && (from.value === '' || to.value === '')) return;
    apply({
      ...state,
      granularity: /** @type {Granularity} */ (granularity.value),
      from: daysChanged ? from.value : state.from,
      to: daysChanged ? to.value : state.to,
      tz: tz.value,
      compare: compare.checked,
      includeBots: includeBots.checked,
    });
  });
  show(initial);
  return { form, show };
}
