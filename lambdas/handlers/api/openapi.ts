/**
 * The OpenAPI 3.1 document of the API, served at GET /api/openapi.json behind a key like every route.
 * ROUTE_DOCS holds one entry per route the handler matches (api.ts, `Route`), keyed by its name; HEAD
 * is added wherever GET is, and the share-token scheme wherever a share token may read (shares.ts,
 * SHARE_READABLE_ROUTES). Limits, enums and patterns come from the constants the code enforces, and
 * the response schemas list exactly the fields of the code's types, so the document cannot drift.
 */
import { version } from '../../../package.json';
import { ADMIN_OWNER } from '../../contract';
import { apiKeyPattern, KEY_ID_PATTERN } from '../../domain/api-key';
import { DAILY_RETENTION_DAYS, QUARTER_HOUR_RETENTION_DAYS, RAW_RETENTION_DAYS } from '../../domain/buckets';
import { BOT_REASONS, OWNER_PATTERN } from '../../domain/click';
import { FORMULA_STARTS } from '../../domain/csv';
import {
  BUCKET_COLUMNS,
  DEFAULT_EXPORT_FORMAT,
  DEFAULT_EXPORT_LEVEL,
  EXPORT_FORMATS,
  EXPORT_LEVELS,
  MAX_EXPORT_CURSOR_LENGTH,
  MAX_EXPORT_ROWS,
  PAGE_CAPS,
  RAW_COLUMNS,
  type ExportFormat,
} from '../../domain/export';
import { MAX_SHARE_LABEL_LENGTH, MAX_SHARES_PER_LINK } from '../../domain/share-link';
import { MIN_CUSTOM_CODE_LENGTH, RESERVED_CODES, SHORT_CODE_PATTERN } from '../../domain/short-code';
import {
  BREAKDOWN_FIELDS,
  DEFAULT_RANGE_DAYS,
  EARLIEST_TIME_MS,
  GRANULARITIES,
  ISO_TIME_PATTERN,
  isoSeconds,
  LATEST_TIME_MS,
  MAX_RANGE_DAYS,
  MAX_TOP,
  type BreakdownRest,
  type PeriodFigures,
  type SeriesEntry,
  type StatsQuery,
  type StatsResponse,
  type Totals,
  type Trend,
} from '../../domain/stats';
import { STATS_LEVELS } from '../../domain/stats-sources';
import { MAX_TARGET_URL_LENGTH } from '../../domain/target-url';
import { DEFAULT_REQUESTS_PER_MINUTE_PER_KEY } from '../../shared/config';
import { json, PROBLEM_CODES, type HttpResult, type ProblemCode } from '../../shared/http';
import type { Route } from '../api';
import { RATE_WINDOW_SECONDS } from './caller';
import { EXPORT_CONTENT_TYPES } from './export';
import { DEFAULT_PAGE_SIZE, LINK_CHANGE_FIELDS, MAX_BODY_BYTES, MAX_PAGE_SIZE, NEW_LINK_FIELDS, RECENT_CLICKS_DAYS, type LinkView } from './links';
import { NEW_SHARE_FIELDS, SHARE_READABLE_ROUTES, type CreatedShare, type ShareView } from './shares';

/** A JSON Schema in OpenAPI 3.1's dialect (draft 2020-12). */
type Schema = Readonly<Record<string, unknown>>;
// A type, not an interface: only types fit where a Schema (an index signature) is expected.
export type Reference = { readonly $ref: string };
interface Header {
  readonly description: string;
  readonly required: boolean;
  readonly schema: Schema;
}
interface Parameter {
  readonly name: string;
  readonly in: 'path' | 'query';
  readonly required: boolean;
  readonly description: string;
  readonly schema: Schema;
}
interface MediaType {
  readonly schema: Schema;
  /**
   * For a body of JSON lines (NDJSON): the schema of each line. OpenAPI 3.1 has no field for it; 3.2 names
   * it `itemSchema`, so the extension takes that name.
   */
  readonly 'x-itemSchema'?: Schema;
}
type Content = Readonly<Record<string, MediaType>>;
type SecurityRequirement = Readonly<Record<string, readonly string[]>>;
export interface ResponseObject {
  readonly description: string;
  readonly headers?: Readonly<Record<string, Reference>>;
  readonly content?: Content;
}
export type Responses = Readonly<Record<string, ResponseObject | Reference>>;
export interface Operation {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  /** Where not the document's: the operations a share token may call too. */
  readonly security?: readonly SecurityRequirement[];
  readonly parameters?: readonly Reference[];
  readonly requestBody?: { readonly required: true; readonly content: Content };
  readonly responses: Responses;
}
/** The methods the document names, in the order path items list them (the handler's Allow order). */
export const OPERATION_METHODS = ['get', 'head', 'post', 'patch', 'delete'] as const;
export type OperationMethod = (typeof OPERATION_METHODS)[number];
type PathItem = { readonly description: string; readonly parameters?: readonly Reference[] } & Partial<Record<OperationMethod, Operation>>;

interface OpenApiDocument {
  readonly openapi: string;
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly security: readonly SecurityRequirement[];
  readonly paths: Readonly<Record<string, PathItem>>;
  /** What a path no route matches answers (extensions: OpenAPI has no place for these). */
  readonly 'x-unmatched-path-responses': Responses;
  /** What a method a route does not take answers. */
  readonly 'x-unmatched-method-responses': Responses;
  readonly components: {
    readonly schemas: Readonly<Record<SchemaName, Schema>>;
    readonly parameters: Readonly<Record<ParameterName, Parameter>>;
    readonly responses: Readonly<Record<string, ResponseObject>>;
    readonly headers: Readonly<Record<HeaderName, Header>>;
    readonly securitySchemes: Readonly<Record<string, Schema>>;
  };
}

const OPENAPI_VERSION = '3.1.0';
const JSON_MEDIA_TYPE = 'application/json';
const KEY_SCHEME = 'bearerKey';
const SHARE_TOKEN_SCHEME = 'shareToken';

type SchemaName =
  | 'ShortCode'
  | 'CustomCode'
  | 'TargetUrl'
  | 'ShortUrl'
  | 'Owner'
  | 'Count'
  | 'PercentChange'
  | 'NewLink'
  | 'LinkChanges'
  | 'CreatedLink'
  | 'Link'
  | 'LinksPage'
  | 'Trend'
  | 'SeriesEntry'
  | 'Totals'
  | 'BreakdownEntry'
  | 'Breakdown'
  | 'BreakdownRest'
  | 'Breakdowns'
  | 'BreakdownOthers'
  | 'Period'
  | 'PeriodFigures'
  | 'Change'
  | 'Stats'
  | 'ShareId'
  | 'ShareToken'
  | 'ShareLabel'
  | 'NewShare'
  | 'CreatedShare'
  | 'Share'
  | 'Shares'
  | 'ExportRawRow'
  | 'ExportBucketRow'
  | 'ExportRow'
  | 'Problem'
  | 'GatewayMessage'
  | 'OpenApiDocument';
type ParameterName =
  | 'Code'
  | 'ShareId'
  | 'Limit'
  | 'Cursor'
  | 'From'
  | 'To'
  | 'Granularity'
  | 'Tz'
  | 'Top'
  | 'IncludeBots'
  | 'Compare'
  | 'ExportFormat'
  | 'ExportLevel'
  | 'ExportLimit'
  | 'ExportCursor';
type HeaderName = 'Allow' | 'RetryAfter' | 'WwwAuthenticate' | 'CacheControl' | 'ContentDisposition' | 'Link' | 'NextCursor';

const schemaRef = (name: SchemaName): Reference => ({ $ref: `#/components/schemas/${name}` });
const parameterRef = (name: ParameterName): Reference => ({ $ref: `#/components/parameters/${name}` });
const headerRef = (name: HeaderName): Reference => ({ $ref: `#/components/headers/${name}` });
const jsonContent = (schema: Schema): Content => ({ [JSON_MEDIA_TYPE]: { schema } });
const jsonResponse = (description: string, schema: Schema): ResponseObject => ({ description, content: jsonContent(schema) });

interface ProblemDoc {
  readonly status: number;
  readonly description: string;
  readonly headers?: Readonly<Record<string, Reference>>;
  /** API Gateway answers this status itself too, with `{ message }`: what it says about that answer. */
  readonly alsoFromGateway?: string;
}

const PROBLEMS: Readonly<Record<ProblemCode, ProblemDoc>> = {
  invalid_request: { status: 400, description: 'The request breaks a rule (a query parameter, the body, a URL or a code); the message names it.' },
  unauthorized: {
    status: 401,
    description: 'No `Authorization: Bearer` header, or a key or share token that is unknown, revoked or wrong.',
    headers: { 'WWW-Authenticate': headerRef('WwwAuthenticate') },
  },
  forbidden: {
    status: 403,
    description:
      "A share token asked for anything but a read of its own link or of that link's statistics: it is read-only and shows one link. " +
      'Answered before the route is looked up, so a share token gets it on any path and method but those reads.',
  },
  not_found: {
    status: 404,
    description:
      "No route has this path, or no link of the caller's has this code: unknown, malformed, reserved, deleted and another owner's codes " +
      "(and, to a share token, any code but its link's) answer alike, so codes cannot be enumerated. On a share's route, also: the link " +
      'has no share with this id.',
  },
  method_not_allowed: { status: 405, description: 'The route does not take this method; `Allow` names those it takes.', headers: { Allow: headerRef('Allow') } },
  conflict: {
    status: 409,
    description:
      `The custom code is taken (a deleted link keeps its code); or, making a share link, the link has ${MAX_SHARES_PER_LINK} share links ` +
      'already (revoked ones count) or no owner (an item written by hand).',
  },
  payload_too_large: {
    status: 413,
    description: `The request body is over ${MAX_BODY_BYTES} bytes.`,
    alsoFromGateway: 'A body over 10 MB, on any route, API Gateway refuses itself: `{"message":"Request Entity Too Large"}`.',
  },
  too_many_requests: {
    status: 429,
    description: 'The owner key or share token made its requests of this minute (`Retry-After` says when the next minute starts).',
    headers: { 'Retry-After': headerRef('RetryAfter') },
    alsoFromGateway: 'API Gateway\'s throttle of the `/api` route, over all callers together, answers `{"message":"Too Many Requests"}` without `Retry-After`.',
  },
  internal_error: {
    status: 500,
    description: "Something failed on the server's side.",
    alsoFromGateway: 'When the function itself fails or is throttled, API Gateway answers `{"message":"Internal Server Error"}`.',
  },
  service_unavailable: { status: 503, description: 'No free generated code or share id was found; try again.' },
};

/** `not_found` → `NotFound`: the name of the problem's response component. */
const responseName = (code: ProblemCode): string => code.replace(/(?:^|_)([a-z])/g, (_match, letter: string) => letter.toUpperCase());

function problemResponse(code: ProblemCode, { description, headers, alsoFromGateway }: ProblemDoc): ResponseObject {
  const problem: Schema = { ...schemaRef('Problem'), type: 'object', properties: { error: { type: 'object', properties: { code: { const: code } } } } };
  return {
    description: alsoFromGateway === undefined ? description : `${description} ${alsoFromGateway}`,
    ...(headers === undefined ? {} : { headers }),
    content: jsonContent(alsoFromGateway === undefined ? problem : { oneOf: [problem, schemaRef('GatewayMessage')] }),
  };
}

/**
 * What the handler may answer on any request, before it knows the route: no key, the key's limit, a
 * failure; and to a share token, anything but a read of its link (which readableWithShareToken drops).
 */
const ANSWERED_BEFORE_ROUTING: readonly ProblemCode[] = ['unauthorized', 'forbidden', 'too_many_requests', 'internal_error'];

/** The responses of these problems and of those answered before routing, by status. */
function problemResponses(...codes: ProblemCode[]): Readonly<Record<string, Reference>> {
  const all = [...new Set([...codes, ...ANSWERED_BEFORE_ROUTING])].sort((a, b) => PROBLEMS[a].status - PROBLEMS[b].status);
  return Object.fromEntries(all.map((code) => [String(PROBLEMS[code].status), { $ref: `#/components/responses/${responseName(code)}` }]));
}

/** Every ordered, non-empty choice of levels: the values `source` can take (stats-sources.ts, sourceOf). */
const SOURCES = STATS_LEVELS.reduce<string[][]>((choices, level) => [...choices, ...choices.map((choice) => [...choice, level])], [[]])
  .filter((choice) => choice.length > 0)
  .map((choice) => choice.join('+'));

const dateTime: Schema = { type: 'string', format: 'date-time' };
const nullableDateTime: Schema = { type: ['string', 'null'], format: 'date-time' };

const TOTALS_PROPERTIES = {
  clicks: schemaRef('Count'),
  uniques: schemaRef('Count'),
  botClicks: schemaRef('Count'),
} satisfies Record<keyof Totals, Schema>;

const PERIOD_PROPERTIES = {
  from: { ...dateTime, description: 'Start of the first bucket: the range actually counted, widened to whole buckets.' },
  to: { ...dateTime, description: 'End of the last bucket (exclusive).' },
  source: { enum: SOURCES, description: 'The levels that answered the buckets, coarsest first, joined by `+`.' },
  series: { type: 'array', items: schemaRef('SeriesEntry'), description: 'Every bucket touching the range, in order; empty ones as zeros.' },
  totals: schemaRef('Totals'),
} satisfies Record<keyof PeriodFigures, Schema>;

const LINK_PROPERTIES = {
  code: schemaRef('ShortCode'),
  url: schemaRef('TargetUrl'),
  shortUrl: schemaRef('ShortUrl'),
  owner: { anyOf: [schemaRef('Owner'), { type: 'null' }], description: 'Null for a link item written by hand.' },
  createdAt: nullableDateTime,
  updatedAt: { ...nullableDateTime, description: 'Null until the link is first changed.' },
  disabled: { type: 'boolean', description: 'A disabled link answers 404 instead of redirecting; its statistics stay.' },
  clicksLast7Days: {
    ...schemaRef('Count'),
    description: `Human clicks of today and the ${RECENT_CLICKS_DAYS - 1} days before it in the reporting time zone.`,
  },
} satisfies Record<keyof LinkView, Schema>;

/** The stats response's own fields, besides its period's. */
const STATS_PROPERTIES = {
  link: schemaRef('ShortCode'),
  owner: schemaRef('Owner'),
  granularity: { enum: GRANULARITIES },
  tz: { type: 'string', description: 'The time zone as asked.' },
  includeBots: { type: 'boolean' },
  breakdowns: schemaRef('Breakdowns'),
  breakdownOthers: schemaRef('BreakdownOthers'),
  previous: { ...schemaRef('PeriodFigures'), description: 'With compare=previous: as many buckets just before the range.' },
  change: { ...schemaRef('Change'), description: 'With compare=previous.' },
} satisfies Record<Exclude<keyof StatsResponse, keyof PeriodFigures> | 'link' | 'owner', Schema>;

const SHARE_VIEW_PROPERTIES = {
  id: schemaRef('ShareId'),
  label: schemaRef('ShareLabel'),
  createdAt: dateTime,
  revokedAt: { ...nullableDateTime, description: 'Null while the share works; once revoked, its token is refused (401).' },
} satisfies Record<keyof ShareView, Schema>;

const RAW_ROW_PROPERTIES = {
  ts: { ...dateTime, description: "The click's time in tz, to the millisecond (`Z` in UTC, else the zone's offset)." },
  code: schemaRef('ShortCode'),
  eventId: { type: 'string', format: 'uuid' },
  bot: { type: 'boolean' },
  botReason: { enum: [...BOT_REASONS, null], description: 'Null for a person.' },
  country: { type: 'string' },
  referrer: { type: 'string', description: 'A host, or `(direct)`.' },
  device: { type: 'string' },
  browser: { type: 'string' },
  os: { type: 'string' },
  visitor: {
    type: 'string',
    // Hex HMAC-SHA256 (domain/export.ts, ownerVisitor).
    pattern: '^[0-9a-f]{64}$',
    description: "The stored visitor key re-keyed for the link's owner: it tells visitors apart within one owner's exports, and joins no two owners'.",
  },
} satisfies Record<(typeof RAW_COLUMNS)[number], Schema>;

const BUCKET_ROW_PROPERTIES = {
  t: { ...dateTime, description: 'The bucket start, as the statistics `series` writes it.' },
  code: schemaRef('ShortCode'),
  clicks: schemaRef('Count'),
  uniques: schemaRef('Count'),
  botClicks: schemaRef('Count'),
} satisfies Record<(typeof BUCKET_COLUMNS)[number], Schema>;

/** An object with these properties and no other (undocumented fields fail validation), all required but the optional ones. */
const closedObject = (
  properties: Readonly<Record<string, Schema>>,
  { description, optional = [] }: { readonly description?: string; readonly optional?: readonly string[] } = {},
): Schema => ({
  type: 'object',
  additionalProperties: false,
  required: Object.keys(properties).filter((name) => !optional.includes(name)),
  properties,
  ...(description === undefined ? {} : { description }),
});

const SCHEMAS: Readonly<Record<SchemaName, Schema>> = {
  ShortCode: { type: 'string', pattern: SHORT_CODE_PATTERN.source },
  CustomCode: {
    ...schemaRef('ShortCode'),
    type: 'string',
    minLength: MIN_CUSTOM_CODE_LENGTH,
    description:
      `At least ${MIN_CUSTOM_CODE_LENGTH} letters, digits, \`-\` or \`_\`, one of them a letter or digit; not one of the shortener's ` +
      `own paths, in any case (${[...RESERVED_CODES].join(', ')}).`,
  },
  TargetUrl: {
    type: 'string',
    maxLength: MAX_TARGET_URL_LENGTH,
    description:
      'An absolute http or https URL without user name or password, to a public host that is not the shortener, each host label in one ' +
      'script (README, "What links are refused"). Answered normalised.',
  },
  ShortUrl: { type: 'string', description: 'The public base URL (or `https://` and the request\'s host), `/`, and the code.' },
  Owner: { type: 'string', pattern: OWNER_PATTERN.source },
  Count: { type: 'integer', minimum: 0 },
  PercentChange: { type: ['number', 'null'], description: 'Percent change to 0.1; null when the earlier value is 0.' },

  NewLink: closedObject(
    {
      url: schemaRef('TargetUrl'),
      code: { ...schemaRef('CustomCode'), description: 'Without it, a random code.' },
    } satisfies Record<(typeof NEW_LINK_FIELDS)[number], Schema>,
    { optional: ['code'] },
  ),
  LinkChanges: {
    ...closedObject(
      {
        url: schemaRef('TargetUrl'),
        disabled: { type: 'boolean', description: "A disabled link stops redirecting within the redirect's link cache time (linkCacheTtlSeconds)." },
      } satisfies Record<(typeof LINK_CHANGE_FIELDS)[number], Schema>,
      { optional: LINK_CHANGE_FIELDS },
    ),
    minProperties: 1,
  },
  CreatedLink: closedObject({ code: LINK_PROPERTIES.code, url: LINK_PROPERTIES.url, shortUrl: LINK_PROPERTIES.shortUrl }),
  Link: closedObject(LINK_PROPERTIES),
  LinksPage: closedObject({
    links: { type: 'array', items: schemaRef('Link') },
    next: { type: ['string', 'null'], description: 'The `cursor` of the following page; null on the last.' },
  }),

  Trend: closedObject(
    { clicks: schemaRef('PercentChange'), uniques: schemaRef('PercentChange') } satisfies Record<keyof Trend, Schema>,
    { description: 'Against the previous month; null when that month had none, or was not read (the first month of a series from quarter-hour aggregates, unless compare=previous read it).' },
  ),
  SeriesEntry: closedObject(
    {
      t: { ...dateTime, description: "Bucket start with the zone's offset (`Z` for hours in UTC)." },
      clicks: { ...schemaRef('Count'), description: 'Human clicks, plus bot clicks with includeBots=true.' },
      uniques: { ...schemaRef('Count'), description: 'Distinct human visitors of the bucket.' },
      botClicks: schemaRef('Count'),
      trend: { ...schemaRef('Trend'), description: 'Month entries only.' },
    } satisfies Record<keyof SeriesEntry, Schema>,
    { optional: ['trend'] },
  ),
  Totals: closedObject(TOTALS_PROPERTIES, { description: 'Clicks as in the series; uniques merged over the range, never added up.' }),
  BreakdownEntry: closedObject({ key: { type: 'string' }, clicks: schemaRef('Count') }),
  Breakdown: { type: 'array', items: schemaRef('BreakdownEntry'), description: 'Human clicks by key, by clicks descending, then key.' },
  BreakdownRest: closedObject({
    keys: { ...schemaRef('Count'), description: 'Keys cut by top plus keys folded in storage (an upper bound).' },
    clicks: schemaRef('Count'),
    longTail: closedObject(
      { keys: schemaRef('Count'), clicks: schemaRef('Count') },
      { description: 'The part folded in storage: the smallest keys of an aggregate item kept within its size bound.' },
    ),
  } satisfies Record<keyof BreakdownRest, Schema>),
  Breakdowns: closedObject(Object.fromEntries(Object.keys(BREAKDOWN_FIELDS).map((field) => [field, schemaRef('Breakdown')]))),
  BreakdownOthers: closedObject(
    Object.fromEntries(Object.keys(BREAKDOWN_FIELDS).map((field) => [field, schemaRef('BreakdownRest')])),
    { description: 'What each breakdown does not list, so it still adds up to the human clicks.' },
  ),
  // Open: PeriodFigures and Stats close it with unevaluatedProperties, which (unlike additionalProperties)
  // sees the properties a $ref declares.
  Period: { type: 'object', required: Object.keys(PERIOD_PROPERTIES), properties: PERIOD_PROPERTIES },
  PeriodFigures: { ...schemaRef('Period'), type: 'object', unevaluatedProperties: false },
  Change: closedObject(
    { clicks: schemaRef('PercentChange'), uniques: schemaRef('PercentChange'), botClicks: schemaRef('PercentChange') } satisfies Record<keyof Totals, Schema>,
    { description: 'Percent change of the totals against the previous period.' },
  ),
  Stats: {
    ...schemaRef('Period'),
    type: 'object',
    required: Object.keys(STATS_PROPERTIES).filter((name) => !['link', 'owner', 'previous', 'change'].includes(name)),
    properties: STATS_PROPERTIES,
    oneOf: [{ required: ['link'] }, { required: ['owner'] }],
    dependentRequired: { previous: ['change'], change: ['previous'] },
    unevaluatedProperties: false,
  },
  ShareId: { type: 'string', pattern: KEY_ID_PATTERN.source },
  ShareToken: { type: 'string', pattern: apiKeyPattern('share').source, description: 'Shown in this answer only: only its hash is stored.' },
  ShareLabel: {
    type: ['string', 'null'],
    minLength: 1,
    maxLength: MAX_SHARE_LABEL_LENGTH,
    description: 'Trimmed; null when there is none.',
  },
  NewShare: closedObject(
    {
      label: {
        type: ['string', 'null'],
        description:
          `Trimmed, then at most ${MAX_SHARE_LABEL_LENGTH} characters, without control, line or paragraph separator or text-direction ` +
          'characters; absent, null or blank for none.',
      },
    } satisfies Record<(typeof NEW_SHARE_FIELDS)[number], Schema>,
    { optional: NEW_SHARE_FIELDS },
  ),
  CreatedShare: closedObject({
    id: SHARE_VIEW_PROPERTIES.id,
    token: schemaRef('ShareToken'),
    label: SHARE_VIEW_PROPERTIES.label,
    createdAt: SHARE_VIEW_PROPERTIES.createdAt,
    url: {
      type: 'string',
      format: 'uri',
      description:
        'The dashboard with the token in the fragment (`<short-link base>/dashboard#share=<token>&link=<code>`): browsers never send a fragment, ' +
        'so the token reaches no server, proxy or log.',
    },
  } satisfies Record<keyof CreatedShare, Schema>),
  Share: closedObject(SHARE_VIEW_PROPERTIES),
  Shares: closedObject({
    shares: { type: 'array', items: schemaRef('Share'), maxItems: MAX_SHARES_PER_LINK, description: 'Newest first, revoked ones included; never the tokens.' },
  }),
  ExportRawRow: closedObject(RAW_ROW_PROPERTIES, { description: `A raw click (level=raw); CSV columns: ${RAW_COLUMNS.join(', ')}.` }),
  ExportBucketRow: closedObject(BUCKET_ROW_PROPERTIES, {
    description: `A link's non-empty bucket (level=hour, day or month); CSV columns: ${BUCKET_COLUMNS.join(', ')}.`,
  }),
  ExportRow: { oneOf: [schemaRef('ExportRawRow'), schemaRef('ExportBucketRow')], description: 'One line of an NDJSON export: values typed, keyed by the columns.' },
  Problem: closedObject({ error: closedObject({ code: { enum: PROBLEM_CODES }, message: { type: 'string', description: 'For people; switch on code.' } }) }),
  GatewayMessage: closedObject({ message: { type: 'string' } }, { description: "API Gateway's own answer, before or instead of the function's." }),
  OpenApiDocument: { type: 'object', required: ['openapi', 'info', 'paths'], properties: { openapi: { const: OPENAPI_VERSION } } },
};

const queryParameter = (name: string, description: string, schema: Schema): Parameter => ({ name, in: 'query', required: false, description, schema });
const dateOrTime: Schema = { type: 'string', pattern: ISO_TIME_PATTERN.source };
/** encodePageCursor's base64url, no longer than the export reads. */
const exportCursor: Schema = { type: 'string', pattern: '^[A-Za-z0-9_-]+$', maxLength: MAX_EXPORT_CURSOR_LENGTH };

const PARAMETERS: Readonly<Record<ParameterName, Parameter>> = {
  Code: {
    name: 'code',
    in: 'path',
    required: true,
    description: "The short code. A malformed, reserved, unknown, deleted or another owner's code answers 404.",
    schema: schemaRef('ShortCode'),
  },
  ShareId: {
    name: 'id',
    in: 'path',
    required: true,
    description: "The share's id (the list's `id`). A malformed or unknown id, or a share of another link, answers 404.",
    schema: schemaRef('ShareId'),
  },
  Limit: queryParameter('limit', 'Links per page.', { type: 'integer', minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE }),
  Cursor: queryParameter('cursor', 'The `next` of the previous page, unchanged; anything else is a 400.', { type: 'string' }),
  From: queryParameter(
    'from',
    'Start of the range: an ISO 8601 date or time (`2026-11-01`, `2026-11-01T09:30`, `2026-11-01T09:30:00Z`, `2026-11-01T09:30:00+01:00`); ' +
      `without an offset it is wall time in tz, a date its local midnight. Default: ${DEFAULT_RANGE_DAYS} days before to. ` +
      `Not before ${isoSeconds(EARLIEST_TIME_MS)}, and before to. Surrounding spaces are ignored; an empty value counts as absent.`,
    dateOrTime,
  ),
  To: queryParameter('to', `End of the range (exclusive), in the same forms as from. Default: now. Not after ${isoSeconds(LATEST_TIME_MS)}.`, dateOrTime),
  Granularity: queryParameter(
    'granularity',
    `Bucket size. Default: hour for ranges up to ${DEFAULT_RANGE_DAYS} days, day beyond. Longest range: ` +
      `${GRANULARITIES.map((granularity) => `${MAX_RANGE_DAYS[granularity]} days by ${granularity}`).join(', ')}. ` +
      `Hours, and days or months in a zone other than the reporting zone, come from quarter-hour aggregates kept ${QUARTER_HOUR_RETENTION_DAYS} days; ` +
      `days in the reporting zone from daily aggregates kept ${DAILY_RETENTION_DAYS} days; months in it are kept forever. ` +
      'An older range is a 400 saying what to ask instead.',
    { enum: GRANULARITIES },
  ),
  Tz: queryParameter('tz', "IANA time zone of the buckets (local hours, days or months, DST-correct), and of a raw export's click times.", {
    type: 'string',
    default: 'UTC',
  }),
  Top: queryParameter('top', 'Keep the first N keys of each breakdown; breakdownOthers counts the rest. Default: every key.', {
    type: 'integer',
    minimum: 1,
    maximum: MAX_TOP,
  }),
  IncludeBots: queryParameter(
    'includeBots',
    'true adds bot clicks to clicks (series, totals, trends, change); uniques and breakdowns stay human.',
    { type: 'boolean', default: false },
  ),
  Compare: queryParameter('compare', 'previous adds `previous`, the period of as many buckets just before the range, and `change`.', {
    enum: ['previous'] satisfies NonNullable<StatsQuery['compare']>[],
  }),
  ExportFormat: queryParameter('format', 'CSV (RFC 4180, a header line on the first page) or NDJSON (one JSON object a line).', {
    enum: EXPORT_FORMATS,
    default: DEFAULT_EXPORT_FORMAT,
  }),
  ExportLevel: queryParameter(
    'level',
    `raw: each click with from <= time < to, from the raw clicks table, kept ${RAW_RETENTION_DAYS} days (an older from is a 400 pointing at ` +
      'level=day or month). hour, day, month: one row per link and non-empty bucket, the statistics routes\' `series` for the same range ' +
      'and zone, with their longest ranges and their 400s (there the parameter is `granularity`).',
    { enum: EXPORT_LEVELS, default: DEFAULT_EXPORT_LEVEL },
  ),
  ExportLimit: queryParameter(
    'limit',
    `Rows per page, at most. A page also ends at ${PAGE_CAPS.bytes / (1024 * 1024)} MiB, after ${PAGE_CAPS.links} links, or at the first ` +
      `link boundary after ${PAGE_CAPS.newLinkAfterMs / 1000} s: it may hold fewer rows, or none, and still have a next page.`,
    { type: 'integer', minimum: 1, maximum: MAX_EXPORT_ROWS, default: MAX_EXPORT_ROWS },
  ),
  ExportCursor: queryParameter(
    'cursor',
    "The previous page's `X-Next-Cursor`, unchanged, with the rest of its `Link` query (from and to pinned to the first page's " +
      'instants); a cursor changed, or made for another export (link, owner, format, level, range or zone), is a 400.',
    exportCursor,
  ),
};

const HEADERS: Readonly<Record<HeaderName, Header>> = {
  Allow: { description: "The route's methods.", required: true, schema: { type: 'string', pattern: '^[A-Z]+(, [A-Z]+)*$' } },
  RetryAfter: {
    description: `Seconds until the key's next ${RATE_WINDOW_SECONDS}-second window. Sent with too_many_requests; not by API Gateway's throttle.`,
    required: false,
    schema: { type: 'integer', minimum: 1, maximum: RATE_WINDOW_SECONDS },
  },
  WwwAuthenticate: { description: 'The scheme to authenticate with.', required: true, schema: { type: 'string', const: 'Bearer' } },
  CacheControl: {
    description: "The answer is the caller's alone (or holds a token shown once): no cache may store it.",
    required: true,
    schema: { type: 'string', pattern: '(^|, )no-store(,|$)' },
  },
  ContentDisposition: {
    description:
      'A download: `<code>-<level>.<format>` for a link, `<owner>-links-<level>.<format>` for an owner, the same on every page, ' +
      'so pages append to one file.',
    required: true,
    schema: { type: 'string', pattern: '^attachment; filename="[^"]+"$' },
  },
  Link: {
    description: 'The next page, when there is one: its path and query, the cursor included. Absent on the last page.',
    required: false,
    schema: { type: 'string', pattern: '^<[^>]+>; rel="next"$' },
  },
  NextCursor: {
    description: "The next page's cursor, as in `Link`. Absent on the last page.",
    required: false,
    schema: exportCursor,
  },
};

interface RouteDoc {
  readonly path: string;
  readonly parameters?: readonly Reference[];
  /** HEAD is added from GET. */
  readonly operations: Partial<Record<Exclude<OperationMethod, 'head'>, Operation>>;
}

const jsonBody = (schema: Schema): Operation['requestBody'] => ({ required: true, content: jsonContent(schema) });

/** The two stats routes differ only by their subject: a link, or the caller's owner. */
function statsOperation(operationId: string, summary: string, subject: 'link' | 'owner', ...problems: ProblemCode[]): Operation {
  return {
    operationId,
    summary,
    description: 'Figures agree at every granularity within seconds of a click (docs/statistics.md, Stats API).',
    parameters: (['From', 'To', 'Granularity', 'Tz', 'Top', 'IncludeBots', 'Compare'] as const).map(parameterRef),
    responses: {
      '200': jsonResponse('The statistics.', { ...schemaRef('Stats'), type: 'object', required: [subject] }),
      ...problemResponses('invalid_request', ...problems),
    },
  };
}

/** The body of an export page in each format. */
const EXPORT_MEDIA: Readonly<Record<ExportFormat, MediaType>> = {
  csv: {
    schema: {
      type: 'string',
      description:
        `RFC 4180: CRLF line ends, every cell quoted, the header line on the first page only. A cell starting with ${FORMULA_STARTS.map((start) => JSON.stringify(start)).join(', ')} ` +
        "gets a leading `'`, so spreadsheets show it as text (CSV injection). Columns as ExportRawRow or ExportBucketRow list them.",
    },
  },
  ndjson: { schema: { type: 'string', description: 'One JSON object a line, each ending in LF.' }, 'x-itemSchema': schemaRef('ExportRow') },
};

const EXPORT_PAGE: ResponseObject = {
  description: 'A page of the export. The pages\' bodies, concatenated, are the whole export, each row exactly once.',
  headers: {
    'Content-Disposition': headerRef('ContentDisposition'),
    'Cache-Control': headerRef('CacheControl'),
    Link: headerRef('Link'),
    'X-Next-Cursor': headerRef('NextCursor'),
  },
  content: Object.fromEntries(EXPORT_FORMATS.map((format) => [EXPORT_CONTENT_TYPES[format], EXPORT_MEDIA[format]])),
};

/** The two export routes differ only by their subject: a link, or every link of the caller's owner. */
function exportOperation(operationId: string, summary: string, description: string, ...problems: ProblemCode[]): Operation {
  return {
    operationId,
    summary,
    description,
    parameters: (['ExportFormat', 'ExportLevel', 'From', 'To', 'Tz', 'ExportLimit', 'ExportCursor'] as const).map(parameterRef),
    responses: { '200': EXPORT_PAGE, ...problemResponses('invalid_request', ...problems) },
  };
}

const noStore = { 'Cache-Control': headerRef('CacheControl') };

/** One entry per route of the handler, in the order the document lists them. */
export const ROUTE_DOCS: Readonly<Record<Route['name'], RouteDoc>> = {
  links: {
    path: '/api/links',
    operations: {
      get: {
        operationId: 'listLinks',
        summary: "The caller's links, newest first, a page at a time",
        parameters: [parameterRef('Limit'), parameterRef('Cursor')],
        responses: { '200': jsonResponse('A page of links.', schemaRef('LinksPage')), ...problemResponses('invalid_request') },
      },
      post: {
        operationId: 'createLink',
        summary: "Create a short link, owned by the key's owner",
        requestBody: jsonBody(schemaRef('NewLink')),
        responses: {
          '201': jsonResponse('The link.', schemaRef('CreatedLink')),
          ...problemResponses('invalid_request', 'conflict', 'payload_too_large', 'service_unavailable'),
        },
      },
    },
  },
  link: {
    path: '/api/links/{code}',
    parameters: [parameterRef('Code')],
    operations: {
      get: { operationId: 'getLink', summary: 'One link', responses: { '200': jsonResponse('The link.', schemaRef('Link')), ...problemResponses('not_found') } },
      patch: {
        operationId: 'changeLink',
        summary: 'Change the destination, disable or enable the link',
        description: 'The body is checked before the code is looked up.',
        requestBody: jsonBody(schemaRef('LinkChanges')),
        responses: { '200': jsonResponse('The link as it now is.', schemaRef('Link')), ...problemResponses('invalid_request', 'not_found', 'payload_too_large') },
      },
      delete: {
        operationId: 'deleteLink',
        summary: 'Delete the link and its statistics; its code stays taken',
        responses: { '204': { description: 'Deleted.' }, ...problemResponses('not_found') },
      },
    },
  },
  'link-stats': {
    path: '/api/links/{code}/stats',
    parameters: [parameterRef('Code')],
    operations: { get: statsOperation('getLinkStats', 'Statistics of one link', 'link', 'not_found') },
  },
  'link-shares': {
    path: '/api/links/{code}/shares',
    parameters: [parameterRef('Code')],
    operations: {
      get: {
        operationId: 'listShares',
        summary: "The link's share links",
        responses: { '200': { ...jsonResponse('Its share links.', schemaRef('Shares')), headers: noStore }, ...problemResponses('not_found') },
      },
      post: {
        operationId: 'createShare',
        summary: "Make a read-only share link of the link's dashboard",
        description: `The token is in this answer only. A link has at most ${MAX_SHARES_PER_LINK} share links, revoked ones included.`,
        requestBody: jsonBody(schemaRef('NewShare')),
        responses: {
          '201': { ...jsonResponse('The share link, with its token.', schemaRef('CreatedShare')), headers: noStore },
          ...problemResponses('invalid_request', 'not_found', 'conflict', 'payload_too_large', 'service_unavailable'),
        },
      },
    },
  },
  'link-share': {
    path: '/api/links/{code}/shares/{id}',
    parameters: [parameterRef('Code'), parameterRef('ShareId')],
    operations: {
      delete: {
        operationId: 'revokeShare',
        summary: 'Revoke a share link: its token is refused from its next request',
        description: 'Revoking a revoked share again is a 204 that keeps its first revokedAt.',
        responses: { '204': { description: 'Revoked.', headers: noStore }, ...problemResponses('not_found') },
      },
    },
  },
  'owner-stats': {
    path: '/api/stats',
    operations: { get: statsOperation('getOwnerStats', "Statistics of the caller's owner, over all their links", 'owner') },
  },
  'link-export': {
    path: '/api/links/{code}/export',
    parameters: [parameterRef('Code')],
    operations: {
      get: exportOperation(
        'exportLink',
        "The link's raw clicks or per-bucket counts, CSV or NDJSON, a page at a time",
        'Raw rows in time order (equal times by event id); bucket rows in bucket order.',
        'not_found',
      ),
    },
  },
  'owner-export': {
    path: '/api/export',
    operations: {
      get: exportOperation(
        'exportOwner',
        "The same over every link of the caller's owner",
        'Links newest first, as GET /api/links lists them; each link\'s rows as on its own export. A link deleted between pages is left out from then on.',
      ),
    },
  },
  openapi: {
    path: '/api/openapi.json',
    operations: {
      get: { operationId: 'getOpenApiDocument', summary: 'This document', responses: { '200': jsonResponse('The document.', schemaRef('OpenApiDocument')), ...problemResponses() } },
    },
  },
};

/**
 * A read a share token may make of its own link: either scheme, and never a 403 (another code is a 404,
 * as for an unknown one).
 */
function readableWithShareToken(operation: Operation): Operation {
  const { [String(PROBLEMS.forbidden.status)]: _forbidden, ...responses } = operation.responses;
  return { ...operation, security: [{ [KEY_SCHEME]: [] }, { [SHARE_TOKEN_SCHEME]: [] }], responses };
}

const isShareReadable = (name: string): boolean => (SHARE_READABLE_ROUTES as readonly string[]).includes(name);

function pathItem(name: string, { parameters, operations }: RouteDoc): PathItem {
  const get = operations.get !== undefined && isShareReadable(name) ? readableWithShareToken(operations.get) : operations.get;
  const head: Operation | undefined =
    get === undefined
      ? undefined
      : { ...get, operationId: `${get.operationId}Head`, summary: `${get.summary}: headers only`, description: "GET's status and headers, without the body." };
  const all: Partial<Record<OperationMethod, Operation>> = { ...operations, get, head };
  const methods = OPERATION_METHODS.filter((method) => all[method] !== undefined);
  return {
    description: `Any other method is a 405 with \`Allow: ${methods.map((method) => method.toUpperCase()).join(', ')}\`.`,
    ...(parameters === undefined ? {} : { parameters }),
    ...Object.fromEntries(methods.map((method) => [method, all[method]])),
  };
}

export const OPENAPI_DOCUMENT: OpenApiDocument = {
  openapi: OPENAPI_VERSION,
  info: {
    title: 'click-analytics API',
    // The package's version: the document changes with the code it describes.
    version,
    description: [
      'Short links, their click statistics and exports, and read-only share links of a link\'s dashboard.',
      `Every route, this document included, needs \`Authorization: Bearer <key>\` (${KEY_SCHEME}); without a valid key it answers 401. ` +
        `A share token (${SHARE_TOKEN_SCHEME}) may only read its own link and that link's statistics, the operations that list its scheme; ` +
        'anything else it asks answers 403 (`forbidden`).',
      'Errors are `{ "error": { "code", "message" } }`: switch on `code`, show `message` to people.',
      'Any request may answer 401, 429 or 500 (and 403 to a share token, but on the reads it may make); a path no route matches answers 404 (`not_found`, ' +
        "x-unmatched-path-responses), and a method a route does not take 405 (`method_not_allowed`, x-unmatched-method-responses) with `Allow` naming the route's methods. " +
        "HEAD is answered wherever GET is: GET's status and headers, no body.",
      'The exports answer CSV or NDJSON text, not JSON; an NDJSON body\'s lines are described by `x-itemSchema` (the name OpenAPI 3.2 gives the field).',
      "API Gateway answers some requests itself with `{ message }`: its throttle's 429, a 500 when the function fails or is throttled, a 413 " +
        'for a body over 10 MB; those responses allow that body too.',
    ].join('\n\n'),
  },
  security: [{ [KEY_SCHEME]: [] }],
  paths: Object.fromEntries(Object.entries(ROUTE_DOCS).map(([name, route]) => [route.path, pathItem(name, route)])),
  'x-unmatched-path-responses': problemResponses('not_found'),
  'x-unmatched-method-responses': problemResponses('method_not_allowed'),
  components: {
    schemas: SCHEMAS,
    parameters: PARAMETERS,
    responses: Object.fromEntries(PROBLEM_CODES.map((code) => [responseName(code), problemResponse(code, PROBLEMS[code])])),
    headers: HEADERS,
    securitySchemes: {
      [KEY_SCHEME]: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'ck_<key id>_<secret>, or the admin key',
        description:
          `An owner's key (\`npm run keys\`), matching \`${apiKeyPattern('owner').source}\`: it reaches that owner's links, statistics, exports and ` +
          `share links only, and may make ${DEFAULT_REQUESTS_PER_MINUTE_PER_KEY} requests a minute unless the stack sets another limit ` +
          `(\`apiKeyRequestsPerMinute\`). Or the admin key (\`CLICKS_API_KEY\` locally, a Secrets Manager secret on AWS), not limited per key: ` +
          `it acts as the owner \`${ADMIN_OWNER}\` and may also read, change, delete, export and share any owner's link by its code.`,
      },
      [SHARE_TOKEN_SCHEME]: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'cs_<share id>_<secret>',
        description:
          `A share token (POST /api/links/{code}/shares), matching \`${apiKeyPattern('share').source}\`: read-only, for one link. It may GET or ` +
          "HEAD that link and its statistics (any statistics parameters), as the link's owner sees them; another code answers 404 as an " +
          'unknown one does, and any other route or method 403. Limited per token as an owner key is; refused (401) from its next request ' +
          'once revoked, and its link gone (404) once the link is deleted.',
      },
    },
  },
};

/** GET /api/openapi.json. */
export const openApiResponse = (): HttpResult => json(200, OPENAPI_DOCUMENT, { 'cache-control': 'private, no-store' });
