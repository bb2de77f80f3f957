/**
 * Building the page: elements from plain values (text is always text, never parsed as HTML), and
 * numbers as people read them in the browser's language.
 */

/** @typedef {Node | string | number | null | undefined | false} Child */

/**
 * An element with attributes (true sets a boolean attribute, false or undefined leaves it out) and children.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Readonly<Record<string, string | boolean | undefined>>} [attributes]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) element.setAttribute(name, '');
    else if (typeof value === 'string') element.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'number' ? String(child) : child);
  }
  return element;
}

const counts = new Intl.NumberFormat();
const percents = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const changes = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1, signDisplay: 'exceptZero' });

/** @param {number} count */
export const formatCount = (count) => counts.format(count);

/** A share of a whole, as a percentage. @param {number} part @param {number} whole */
export const formatShare = (part, whole) => (whole === 0 ? '–' : `${percents.format((100 * part) / whole)}%`);

/** The API's percent change (already to 0.1), signed. @param {number} change */
export const formatChange = (change) => `${changes.format(change)}%`;

/** Names of ISO 3166 country codes, in the browser's language. */
const regions = new Intl.DisplayNames(undefined, { type: 'region' });

/** `Germany (DE)` for a country code; other keys (`unknown`) as they are. @param {string} key */
export function countryName(key) {
  if (!/^[A-Z]{2}$/.test(key)) return key;
  try {
    const name = regions.of(key);
    return name === undefined || name === key ? key : `${name} (${key})`;
  } catch {
    return key;
  }
}
