/**
 * The mixed-script rule for internationalised host names, the usual defence against look-alike
 * (IDN spoofing) hosts such as `exаmple.com` with a Cyrillic а: every label, decoded from punycode,
 * must be written in one script, or in one of the combinations UTS #39 section 5.2 allows at its
 * "Highly Restrictive" level (Latin with Han and the Japanese kana, with Han and Bopomofo, or with
 * Han and Hangul). Chrome's IDN display policy applies the same rule
 * (https://chromium.googlesource.com/chromium/src/+/main/docs/idn.md).
 *
 * Whole-script look-alikes (a label wholly in Cyrillic that reads as Latin, such as `аррӏе`) pass:
 * catching them needs UTS #39's confusable data.
 */
import { domainToUnicode } from 'node:url';

/**
 * The scripts told apart: UAX #31's recommended scripts (Table 4). A character of any other script
 * counts as one more script, so it cannot be mixed with these either.
 */
const SCRIPTS = [
  'Arabic', 'Armenian', 'Bengali', 'Bopomofo', 'Cyrillic', 'Devanagari', 'Ethiopic', 'Georgian', 'Greek', 'Gujarati',
  'Gurmukhi', 'Han', 'Hangul', 'Hebrew', 'Hiragana', 'Kannada', 'Katakana', 'Khmer', 'Lao', 'Latin', 'Malayalam',
  'Myanmar', 'Oriya', 'Sinhala', 'Tamil', 'Telugu', 'Thaana', 'Thai', 'Tibetan',
] as const;

const OTHER_SCRIPT = 'another script';

const SCRIPT_PATTERNS = SCRIPTS.map((script): readonly [string, RegExp] => [script, new RegExp(`^\\p{Script=${script}}$`, 'u')]);

/** Digits, the hyphen, punctuation and combining marks belong to every script. */
const ANY_SCRIPT = /^[\p{Script=Common}\p{Script=Inherited}]$/u;

/** UTS #39 5.2, Highly Restrictive: the only mixtures allowed within a label. */
const ALLOWED_MIXTURES: readonly ReadonlySet<string>[] = [
  new Set(['Latin', 'Han', 'Hiragana', 'Katakana']),
  new Set(['Latin', 'Han', 'Bopomofo']),
  new Set(['Latin', 'Han', 'Hangul']),
];

function scriptOf(character: string): string | null {
  if (ANY_SCRIPT.test(character)) return null;
  return SCRIPT_PATTERNS.find(([, pattern]) => pattern.test(character))?.[0] ?? OTHER_SCRIPT;
}

function scriptsOf(label: string): Set<string> {
  const scripts = new Set<string>();
  for (const character of label) {
    const script = scriptOf(character);
    if (script !== null) scripts.add(script);
  }
  return scripts;
}

export interface MixedScriptLabel {
  /** The label as it reads (Unicode). */
  readonly label: string;
  readonly scripts: readonly string[];
}

/** The first label of the host that mixes scripts it may not, or null when none does. */
export function mixedScriptLabel(hostname: string): MixedScriptLabel | null {
  for (const written of hostname.split('.')) {
    // domainToUnicode answers '' for a label it cannot decode: judge the label as written then.
    const label = (/^xn--/i.test(written) && domainToUnicode(written)) || written;
    const scripts = scriptsOf(label);
    if (scripts.size <= 1 || ALLOWED_MIXTURES.some((allowed) => [...scripts].every((script) => allowed.has(script)))) continue;
    return { label, scripts: [...scripts] };
  }
  return null;
}
