/**
 * Lambda event filtering (FilterCriteria) for the local pollers: the pattern language of
 * EventBridge as Lambda applies it. Supported: exact values (string, number, boolean, null),
 * prefix, suffix, equals-ignore-case, exists, anything-but (values or a prefix), numeric
 * ranges, nested objects; a record matches when any pattern matches.
 */
import { isRecord } from './types';

type Json = string | number | boolean | null | readonly Json[] | { readonly [key: string]: Json };
type PatternObject = { readonly [key: string]: Json };

const parsedPatterns = new Map<string, PatternObject>();

function parsePattern(pattern: string): PatternObject {
  const cached = parsedPatterns.get(pattern);
  if (cached !== undefined) return cached;
  let parsed: unknown;
  try {
    parsed = JSON.parse(pattern);
  } catch (error) {
    throw new Error(`Invalid filter pattern ${pattern}: ${(error as Error).message}`);
  }
  if (!isRecord(parsed)) throw new Error(`Invalid filter pattern ${pattern}: it must be a JSON object`);
  parsedPatterns.set(pattern, parsed as PatternObject);
  return parsed as PatternObject;
}

/** True when `record` matches any of `patterns` (JSON strings); an empty list matches everything. */
export function matchesFilters(patterns: readonly string[], record: unknown): boolean {
  return patterns.length === 0 || patterns.some((pattern) => matchesObject(parsePattern(pattern), record));
}

function matchesObject(pattern: PatternObject, value: unknown): boolean {
  return Object.entries(pattern).every(([key, rule]) => {
    const field = isRecord(value) ? value[key] : undefined;
    if (Array.isArray(rule)) return matchesAnyCondition(rule as readonly Json[], field);
    // A missing object has missing fields: only `exists: false` matches under it.
    if (isRecord(rule)) return matchesObject(rule as PatternObject, field);
    throw new Error(`Invalid filter pattern at "${key}": expected an array of conditions or an object, got ${JSON.stringify(rule)}`);
  });
}

function matchesAnyCondition(conditions: readonly Json[], field: unknown): boolean {
  // An array field matches when any of its elements matches.
  const values: readonly unknown[] = field === undefined ? [] : Array.isArray(field) ? field : [field];
  return conditions.some((condition) => {
    if (isRecord(condition) && 'exists' in condition) return (field !== undefined) === (condition.exists === true);
    return values.some((value) => matchesCondition(condition, value));
  });
}

function matchesCondition(condition: Json, value: unknown): boolean {
  if (!isRecord(condition)) return condition === value;
  const [operator, ...others] = Object.keys(condition);
  if (operator === undefined || others.length > 0) {
    throw new Error(`Invalid filter condition ${JSON.stringify(condition)}: expected exactly one operator`);
  }
  const operand = condition[operator];
  switch (operator) {
    case 'prefix':
      return typeof value === 'string' && typeof operand === 'string' && value.startsWith(operand);
    case 'suffix':
      return typeof value === 'string' && typeof operand === 'string' && value.endsWith(operand);
    case 'equals-ignore-case':
      return typeof value === 'string' && typeof operand === 'string' && value.toLowerCase() === operand.toLowerCase();
    case 'anything-but':
      return matchesAnythingBut(operand as Json, value);
    case 'numeric':
      return typeof value === 'number' && matchesNumeric(operand as Json, value);
    default:
      throw new Error(`Unsupported filter operator "${operator}"`);
  }
}

function matchesAnythingBut(excluded: Json, value: unknown): boolean {
  if (Array.isArray(excluded)) return !excluded.includes(value as Json);
  if (isRecord(excluded)) {
    if (typeof excluded.prefix !== 'string') throw new Error(`Unsupported anything-but condition ${JSON.stringify(excluded)}`);
    return typeof value === 'string' && !value.startsWith(excluded.prefix);
  }
  return value !== excluded;
}

const numericComparisons: Readonly<Record<string, (value: number, bound: number) => boolean>> = {
  '=': (value, bound) => value === bound,
  '<': (value, bound) => value < bound,
  '<=': (value, bound) => value <= bound,
  '>': (value, bound) => value > bound,
  '>=': (value, bound) => value >= bound,
};

function matchesNumeric(terms: Json, value: number): boolean {
  if (!Array.isArray(terms) || terms.length === 0 || terms.length % 2 !== 0) {
    throw new Error(`Invalid numeric condition ${JSON.stringify(terms)}: expected [operator, number, ...]`);
  }
  for (let index = 0; index < terms.length; index += 2) {
    const compare = numericComparisons[String(terms[index])];
    const bound = terms[index + 1];
    if (compare === undefined || typeof bound !== 'number') {
      throw new Error(`Invalid numeric condition ${JSON.stringify(terms)}`);
    }
    if (!compare(value, bound)) return false;
  }
  return true;
}
