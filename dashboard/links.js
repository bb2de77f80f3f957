/**
 * The owner's links, newest first, a page at a time (`next`), each with its clicks of the last 7 days
 * and a link to its own view.
 */
import { formatCount, h } from './dom.js';

/** @typedef {import('./api.js').Api} Api */
/** @typedef {import('./api.js').LinkView} LinkView */

/**
 * @param {Api} api
 * @param {(code: string) => string} viewOf  The fragment of a link's view, with the controls as they are now.
 * @param {import('./app.js').Run} run
 */
export function linksList(api, viewOf, run) {
  const rows = h('tbody');
  const more = h('button', { type: 'button', hidden: true }, 'Show more links');
  const empty = h('p', { class: 'empty', hidden: true }, 'No links yet: create one with POST /api/links.');
  /** @type {string | null} */
  let next = null;
  /** Each listed link's anchor, to carry new controls into its view. @type {Map<string, HTMLAnchorElement>} */
  const anchors = new Map();

  /** @param {LinkView} link */
  const row = (link) => {
    const anchor = h('a', { href: viewOf(link.code) }, link.code);
    anchors.set(link.code, anchor);
    return h(
      'tr',
      {},
      h('th', { scope: 'row' }, anchor, link.disabled ? h('span', { class: 'badge' }, 'disabled') : null),
      h('td', { class: 'url' }, link.url),
      h('td', { class: 'number' }, formatCount(link.clicksLast7Days)),
      h('td', {}, link.createdAt === null ? '' : link.createdAt.slice(0, 10)),
    );
  };

  const load = async () => {
    more.disabled = true;
    await run(async (signal) => {
      const page = await api.links(next, signal);
      rows.append(...page.links.map(row));
      next = page.next;
      more.hidden = next === null;
      empty.hidden = rows.childElementCount > 0;
    });
    more.disabled = false;
  };
  more.addEventListener('click', () => void load());

  const section = h(
    'section',
    { class: 'links', 'aria-labelledby': 'links-heading' },
    h('h2', { id: 'links-heading' }, 'Your links'),
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Code'),
            h('th', { scope: 'col' }, 'Destination'),
            h('th', { scope: 'col' }, 'Clicks, last 7 days'),
            h('th', { scope: 'col' }, 'Created'),
          ),
        ),
        rows,
      ),
    ),
    empty,
    more,
  );
  void load();
  return {
    section,
    /** Points each link at its view with the controls as they are now. */
    relink: () => {
      for (const [code, anchor] of anchors) anchor.setAttribute('href', viewOf(code));
    },
  };
}
