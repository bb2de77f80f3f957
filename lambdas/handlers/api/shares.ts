/**
 * Share links of a link's dashboard: make one (the token is shown once), list them, revoke one; and the
 * scope every route holds a share token to. Only owner and admin keys reach these routes, and only
 * for links they reach: another owner's code answers exactly as an unknown one.
 */
import { randomBytes } from 'node:crypto';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { generateApiKey, KEY_ID_PATTERN } from '../../domain/api-key';
import { checkShareLabel, MAX_SHARES_PER_LINK, shareDashboardUrl } from '../../domain/share-link';
import { json, problem, type HttpResult } from '../../shared/http';
import { listLinkShares, putLinkShare, revokeLinkShare, type ApiKeyListing } from '../../tables/api-keys';
import type { Route } from '../api';
import type { Caller } from './caller';
import { ownedLink, readJsonObject, shortUrlBase, unexpectedFields, unknownLink, type LinksContext } from './links';

const SHARE_ID_ATTEMPTS = 3;
/** The fields a creation's body may hold. */
export const NEW_SHARE_FIELDS = ['label'] as const;

/** A share as the list shows it; its token is in the creation answer alone. */
export interface ShareView {
  readonly id: string;
  readonly label: string | null;
  readonly createdAt: string;
  /** null while the share works. */
  readonly revokedAt: string | null;
}

/** The answer to a creation: the view plus the token and the dashboard address carrying it. */
export interface CreatedShare extends Omit<ShareView, 'revokedAt'> {
  readonly token: string;
  readonly url: string;
}

/** The routes a share token may GET (and HEAD), for its own link alone; the OpenAPI document lists them too. */
export const SHARE_READABLE_ROUTES = ['link', 'link-stats'] as const satisfies readonly Route['name'][];

const unknownShare = (): HttpResult => problem(404, 'not_found', 'This link has no share link with this id.');

/**
 * What a caller's scope says of a request: null when it may go on, else the answer. Owner and admin
 * keys have no scope beyond their links. A share token may read its own link and that link's
 * statistics (GET or HEAD): another code answers as an unknown one, so a token tells nothing of other
 * links; any other route or method is forbidden. `linkRead` is the code a GET or HEAD of a link or of
 * its statistics names, and null for every other request.
 */
export function shareScopeRefusal(caller: Caller, linkRead: string | null): HttpResult | null {
  if (caller.sharedLink === null) return null;
  if (linkRead === null) return problem(403, 'forbidden', 'A share link is read-only and shows one link.');
  return linkRead === caller.sharedLink ? null : unknownLink();
}

export async function createShare(event: APIGatewayProxyEventV2, context: LinksContext, code: string): Promise<HttpResult> {
  const { config, logger } = context;
  const parsed = readJsonObject(event);
  if (!parsed.ok) return parsed.result;
  const unexpected = unexpectedFields(parsed.body, NEW_SHARE_FIELDS);
  if (unexpected !== null) return unexpected;
  const checked = checkShareLabel(parsed.body.label);
  if (!checked.ok) return problem(400, 'invalid_request', checked.error);

  const link = await ownedLink(context, code);
  if (link === null) return unknownLink();
  // A share token acts as the link's owner: for an item written by hand without one, it could read nothing.
  if (link.owner === null) return problem(409, 'conflict', 'This link has no owner, so it cannot be shared.');
  for (let attempt = 0; attempt < SHARE_ID_ATTEMPTS; attempt++) {
    const { keyId, key, keyHash } = generateApiKey('share', randomBytes);
    const share = { keyId, owner: link.owner, keyHash, share: code, ...(checked.label === null ? {} : { label: checked.label }) };
    const stored = await putLinkShare(config.apiKeysTableName, share);
    if (stored === 'list-full') {
      return problem(409, 'conflict', `This link has ${MAX_SHARES_PER_LINK} share links, the most it may have (revoked ones count).`);
    }
    if (stored !== 'id-taken') {
      const created: CreatedShare = { id: keyId, token: key, label: checked.label, createdAt: stored.createdAt, url: shareDashboardUrl(shortUrlBase(event, config), key, code) };
      return json(201, created, { 'cache-control': 'no-store' });
    }
  }
  logger.error('no free share id', { attempts: SHARE_ID_ATTEMPTS });
  return problem(503, 'service_unavailable', 'No free share id was found; try again.');
}

const viewOf = (share: ApiKeyListing): ShareView => ({
  id: share.keyId,
  label: share.label ?? null,
  createdAt: share.createdAt,
  revokedAt: share.revokedAt ?? null,
});

export async function listShares(context: LinksContext, code: string): Promise<HttpResult> {
  if ((await ownedLink(context, code)) === null) return unknownLink();
  const shares = await listLinkShares(context.config.apiKeysTableName, code);
  return json(200, { shares: shares.map(viewOf) }, { 'cache-control': 'private, no-store' });
}

/** Revokes the share: its token is refused from its next request. Revoking it again changes nothing. */
export async function revokeShare(context: LinksContext, code: string, shareId: string): Promise<HttpResult> {
  if ((await ownedLink(context, code)) === null) return unknownLink();
  if (!KEY_ID_PATTERN.test(shareId) || (await revokeLinkShare(context.config.apiKeysTableName, code, shareId)) === 'unknown') return unknownShare();
  return { statusCode: 204, headers: { 'cache-control': 'no-store' } };
}
