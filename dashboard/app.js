/**
 * The dashboard: an owner's links and statistics behind their API key, or one link's statistics behind
 * a share token, read-only. What is shown lives in the URL's fragment (view-state.js), so every view is
 * a link; the key lives in this tab's sessionStorage only, never in localStorage or a cookie.
 */
import { ApiError, apiClient } from './api.js';
import { statsControls } from './controls.js';
import { h } from './dom.js';
import { showFigures } from './figures.js';
import { linksList } from './links.js';
import { sharesSection } from './shares.js';
import { readState, statsQuery, writeState } from './view-state.js';

/** @typedef {import('./view-state.js').ViewState} ViewState */
/** @typedef {import('./api.js').Api} Api */
/**
 * Runs one piece of a view's work: a request and what the view does with its answer, so the page is busy
 * until both are done. Undefined when it failed (the view says why).
 * @typedef {<T>(work: (signal: AbortSignal) => Promise<T>) => Promise<T | undefined>} Run
 */

/**
 * What is on the page: its route (which view), how it shows another state of the same view (new
 * controls), and how it goes (its requests aborted, its chart removed).
 * @typedef {{ route: string, element: HTMLElement, show: (state: ViewState) => void, dispose: () => void }} View
 */

const KEY_ITEM = 'click-analytics.api-key';
const INCOMPLETE_SHARE =
  "This share address is incomplete: it holds a token but not the link's code. Ask for the address the dashboard showed when the share link was made.";

/** @param {string} id */
function byId(id) {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`index.html has no #${id}`);
  return element;
}

const main = byId('main');
const forgetKey = byId('forget-key');
const sharedNote = byId('shared-note');

/** Work under way (requests and the drawing of their answers): while there is any, the main region is aria-busy. */
let pending = 0;

/** @template T @param {Promise<T>} promise */
async function tracked(promise) {
  pending += 1;
  main.setAttribute('aria-busy', 'true');
  try {
    return await promise;
  } finally {
    pending -= 1;
    if (pending === 0) main.setAttribute('aria-busy', 'false');
  }
}

/** @type {View | null} */
let current = null;

/** @param {View | null} view @param {boolean} focus */
function replaceView(view, focus) {
  current?.dispose();
  current = view;
  if (view === null) return;
  main.replaceChildren(view.element);
  if (focus) view.element.querySelector('h2')?.focus();
}

/** @param {ViewState} state */
const routeOf = (state) => (state.share !== null ? `share:${state.share}:${state.link}` : `link:${state.link ?? ''}`);

/** What a failed request means for the person looking. @param {unknown} error @param {boolean} shared */
function explain(error, shared) {
  if (!(error instanceof ApiError)) return 'Something went wrong on this page: reload it to try again.';
  if (shared && (error.status === 401 || error.status === 403)) {
    return 'This share link opens nothing any more: it was revoked, or its address is incomplete.';
  }
  if (error.status === 429) {
    const wait = error.retryAfterSeconds === null ? 'a few seconds' : `${error.retryAfterSeconds} s`;
    return `Too many requests for now: wait ${wait}, then try again.`;
  }
  if (error.status >= 500) return `The API failed (${error.status}): try again in a moment.`;
  return error.message;
}

/** @param {unknown} error */
const mayRetry = (error) => error instanceof ApiError && (error.status === 0 || error.status === 429 || error.status >= 500);

/**
 * The requests of one view: all aborted when it goes; a failure is explained in `messages`, with a way to
 * try again when waiting may help. A refused key ends the owner's session (`onRefusedKey`).
 * @param {HTMLElement} messages @param {boolean} shared @param {() => void} onRefusedKey
 */
function viewRequests(messages, shared, onRefusedKey) {
  const controller = new AbortController();
  /** @type {Run} */
  const run = async (work) => {
    try {
      const result = await tracked(work(controller.signal));
      messages.replaceChildren();
      return result;
    } catch (error) {
      if (controller.signal.aborted) return undefined;
      if (!shared && error instanceof ApiError && error.status === 401) {
        onRefusedKey();
        return undefined;
      }
      const retry = h('button', { type: 'button' }, 'Try again');
      retry.addEventListener('click', () => void run(work));
      messages.replaceChildren(h('p', {}, explain(error, shared)));
      if (mayRetry(error)) messages.append(retry);
      return undefined;
    }
  };
  return { run, abort: () => controller.abort() };
}

/**
 * The statistics of a link (or with `code` null, the owner's) under their controls; a change of controls
 * reloads the figures only, so focus stays where it is.
 * @param {Api} api @param {string | null} code @param {ViewState} state @param {Run} run
 */
function statistics(api, code, state, run) {
  const figures = h('div', { class: 'figures' });
  /** @type {(() => void) | null} */
  let removeChart = null;
  let latest = 0;
  /** @param {ViewState} next */
  const load = async (next) => {
    const ticket = (latest += 1);
    figures.replaceChildren(h('p', { class: 'loading' }, 'Loading…'));
    await run(async (signal) => {
      const stats = await api.stats(code, statsQuery(next, new Date()), signal);
      // A newer load has started meanwhile: its figures win.
      if (ticket !== latest) return;
      removeChart?.();
      removeChart = showFigures(figures, stats);
    });
  };
  const controls = statsControls(state, (next) => location.replace(writeState(next)));
  void load(state);
  return {
    elements: [controls.form, figures],
    /** @param {ViewState} next */
    show: (next) => {
      controls.show(next);
      void load(next);
    },
    dispose: () => removeChart?.(),
  };
}

/** @param {Api} api @param {ViewState} state @param {() => void} onRefusedKey @returns {View} */
function overview(api, state, onRefusedKey) {
  const messages = h('div', { class: 'messages', role: 'alert' });
  const requests = viewRequests(messages, false, onRefusedKey);
  let shown = state;
  const stats = statistics(api, null, state, requests.run);
  const links = linksList(api, (code) => writeState({ ...shown, link: code }), requests.run);
  const element = h(
    'section',
    { class: 'view', 'aria-labelledby': 'view-heading' },
    h('h2', { id: 'view-heading', tabindex: '-1' }, 'All your links'),
    messages,
    ...stats.elements,
    links.section,
  );
  return {
    route: routeOf(state),
    element,
    show: (next) => {
      shown = next;
      stats.show(next);
      links.relink();
    },
    dispose: () => {
      requests.abort();
      stats.dispose();
    },
  };
}

/** @param {import('./api.js').LinkView} link */
function linkDetails(link) {
  return h(
    'dl',
    { class: 'link-details' },
    h('div', {}, h('dt', {}, 'Short link'), h('dd', {}, link.shortUrl)),
    h('div', {}, h('dt', {}, 'Destination'), h('dd', { class: 'url' }, link.url)),
    h('div', {}, h('dt', {}, 'Status'), h('dd', {}, link.disabled ? 'disabled: it no longer redirects' : 'active')),
    link.createdAt === null ? null : h('div', {}, h('dt', {}, 'Created'), h('dd', {}, link.createdAt.slice(0, 10))),
  );
}

/**
 * One link: its details and statistics, and (for its owner) its share links. Its details are read first:
 * an unknown code, or another owner's, shows that no link has it, and no figure at all.
 * @param {Api} api @param {string} code @param {ViewState} state @param {() => void} onRefusedKey @returns {View}
 */
function linkView(api, code, state, onRefusedKey) {
  const shared = state.share !== null;
  const messages = h('div', { class: 'messages', role: 'alert' });
  const requests = viewRequests(messages, shared, onRefusedKey);
  const back = h('a', { href: writeState({ ...state, link: null }) }, 'All your links');
  const body = h('div', { class: 'link-body' }, h('p', { class: 'loading' }, 'Loading…'));
  const element = h(
    'section',
    { class: 'view', 'aria-labelledby': 'view-heading' },
    shared ? null : h('nav', { class: 'crumbs', 'aria-label': 'Back' }, back),
    h('h2', { id: 'view-heading', tabindex: '-1' }, 'Link ', h('code', {}, code)),
    messages,
    body,
  );
  /** @type {ReturnType<typeof statistics> | null} */
  let stats = null;
  let shown = state;
  void requests
    .run(async (signal) => {
      const link = await api.link(code, signal);
      stats = statistics(api, code, shown, requests.run);
      body.replaceChildren(linkDetails(link), ...stats.elements);
      if (!shared) body.append(sharesSection(api, code, requests.run));
      return true;
    })
    .then((done) => {
      if (done === undefined) body.replaceChildren();
    });
  return {
    route: routeOf(state),
    element,
    show: (next) => {
      shown = next;
      back.setAttribute('href', writeState({ ...next, link: null }));
      stats?.show(next);
    },
    dispose: () => {
      requests.abort();
      stats?.dispose();
    },
  };
}

/** Asks for the owner's key; `why` says what went wrong with the last one. @param {string | null} why */
function keyEntry(why) {
  replaceView(null, false);
  const input = h('input', { id: 'api-key', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true });
  const form = h(
    'form',
    { class: 'key-form' },
    h('div', { class: 'field' }, h('label', { for: 'api-key' }, 'API key'), input),
    h('button', { type: 'submit' }, 'Show my links'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (key === '') return;
    sessionStorage.setItem(KEY_ITEM, key);
    render(true);
  });
  main.replaceChildren(
    h(
      'section',
      { class: 'view key-entry', 'aria-labelledby': 'key-heading' },
      h('h2', { id: 'key-heading' }, 'Your API key'),
      why === null ? null : h('p', { class: 'messages', role: 'alert' }, why),
      form,
      h(
        'p',
        { class: 'hint' },
        'An operator makes owner keys with ',
        h('code', {}, 'npm run keys'),
        '. The key stays in this browser tab only, until you close it or choose Forget key.',
      ),
    ),
  );
  main.setAttribute('aria-busy', 'false');
  return input;
}

function refusedKey() {
  sessionStorage.removeItem(KEY_ITEM);
  forgetKey.hidden = true;
  keyEntry('The API did not accept this key: it may be mistyped or revoked. Enter it again.').focus();
}

/** Shows the view the fragment names; `focus` moves focus to it (after a navigation, not on the first load). @param {boolean} focus */
function render(focus) {
  const state = readState(location.hash);
  const shared = state.share !== null;
  const token = state.share ?? sessionStorage.getItem(KEY_ITEM);
  forgetKey.hidden = shared || token === null;
  sharedNote.hidden = !shared;
  if (token === null) {
    keyEntry(null);
    return;
  }
  if (current !== null && current.route === routeOf(state)) {
    current.show(state);
    return;
  }
  const api = apiClient(token);
  const code = state.link;
  if (code === null && shared) {
    replaceView(null, false);
    main.replaceChildren(h('p', { class: 'messages', role: 'alert' }, INCOMPLETE_SHARE));
    main.setAttribute('aria-busy', 'false');
    return;
  }
  replaceView(code === null ? overview(api, state, refusedKey) : linkView(api, code, state, refusedKey), focus);
}

forgetKey.addEventListener('click', () => {
  sessionStorage.removeItem(KEY_ITEM);
  forgetKey.hidden = true;
  keyEntry(null).focus();
});
window.addEventListener('hashchange', () => render(true));
render(false);
