/**
 * Share links of one link: anyone holding one sees that link's statistics read-only, without a key,
 * until the owner revokes it. A new share's address holds its token and is shown once.
 */
import { h } from './dom.js';

/** @typedef {import('./api.js').Api} Api */
/** @typedef {import('./api.js').ShareView} ShareView */

/** The API's limit on a label. */
const MAX_LABEL_LENGTH = 64;

/**
 * @param {Api} api
 * @param {string} code
 * @param {import('./app.js').Run} run
 */
export function sharesSection(api, code, run) {
  const rows = h('tbody');
  const table = h(
    'table',
    { hidden: true },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Label'), h('th', { scope: 'col' }, 'Created'), h('th', { scope: 'col' }, 'Status'))),
    rows,
  );
  const none = h('p', { class: 'empty', hidden: true }, 'No share links yet.');
  const created = h('div', { class: 'share-created', role: 'status' });
  const label = h('input', { id: 'share-label', maxlength: String(MAX_LABEL_LENGTH), autocomplete: 'off' });
  const form = h(
    'form',
    { class: 'share-form' },
    h('div', { class: 'field' }, h('label', { for: 'share-label' }, 'Label (optional, for you)'), label),
    h('button', { type: 'submit' }, 'Create a share link'),
  );

  /** @param {ShareView} share */
  const row = (share) => {
    const status = h('td', {}, share.revokedAt === null ? 'active' : `revoked ${share.revokedAt.slice(0, 10)}`);
    if (share.revokedAt === null) {
      const revoke = h('button', { type: 'button', class: 'inline' }, 'Revoke');
      revoke.addEventListener('click', async () => {
        revoke.disabled = true;
        await run(async (signal) => {
          await api.revokeShare(code, share.id, signal);
          await refresh(signal);
        });
        revoke.disabled = false;
      });
      status.append(' ', revoke);
    }
    return h('tr', {}, h('th', { scope: 'row' }, share.label ?? '(no label)'), h('td', {}, share.createdAt.slice(0, 10)), status);
  };

  /** @param {AbortSignal} signal */
  const refresh = async (signal) => {
    const shares = await api.shares(code, signal);
    rows.replaceChildren(...shares.map(row));
    table.hidden = shares.length === 0;
    none.hidden = shares.length > 0;
  };

  /** @param {import('./api.js').CreatedShare} share */
  const showCreated = (share) => {
    label.value = '';
    const url = share.url;
    const address = h('input', { id: 'share-url', readonly: true, value: url, 'aria-describedby': 'share-url-note' });
    const copy = h('button', { type: 'button' }, 'Copy');
    copy.addEventListener('click', async () => {
      address.select();
      await navigator.clipboard.writeText(url);
      copy.textContent = 'Copied';
    });
    created.replaceChildren(
      h('label', { for: 'share-url' }, 'New share link'),
      h('div', { class: 'copy-row' }, address, copy),
      h('p', { id: 'share-url-note' }, 'Copy it now: it is shown only this once. Anyone with it sees these statistics until you revoke it.'),
    );
    address.focus();
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void run(async (signal) => {
      const share = await api.createShare(code, label.value.trim(), signal);
      showCreated(share);
      await refresh(signal);
    });
  });

  void run(refresh);
  return h(
    'section',
    { class: 'shares', 'aria-labelledby': 'shares-heading' },
    h('h2', { id: 'shares-heading' }, 'Share links'),
    h('p', {}, "A share link opens this link's statistics read-only, without a key, until you revoke it."),
    form,
    created,
    h('div', { class: 'table-scroll' }, table),
    none,
  );
}
