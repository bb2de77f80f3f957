/** Bot detection: bot clicks are kept but counted apart, with the reason they were flagged. */
import { isbot } from 'isbot';
import type { BotReason } from './click';

/**
 * User-Agent tokens of the fetchers that build link previews in chats and social feeds: they open
 * every shared link once per conversation, which is the largest source of inflated counts.
 * Tokens are specific enough not to match the same apps' in-app browsers (e.g. `[Pinterest/iOS]`).
 */
const LINK_PREVIEW_FETCHERS = [
  'Slackbot-LinkExpanding',
  'Slack-ImgProxy',
  'facebookexternalhit',
  'Facebot',
  'Twitterbot',
  'WhatsApp/',
  'TelegramBot',
  'Discordbot',
  'LinkedInBot',
  'SkypeUriPreview',
  'MicrosoftPreview',
  'Iframely',
  'redditbot',
  'Applebot',
  'Embedly',
  'Pinterestbot',
  'Pinterest/0.',
  'vkShare',
  'Google-PageRenderer',
  'Mastodon/',
  'Bluesky Cardyb',
  'Mattermost-Bot',
];

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const LINK_PREVIEW_PATTERN = new RegExp(LINK_PREVIEW_FETCHERS.map(escapeRegExp).join('|'), 'i');

/** Purposes (see `purposeFrom`) of requests the browser made without the user following the link. */
const SPECULATIVE_PURPOSES: ReadonlySet<string> = new Set(['prefetch', 'preview']);

export interface BotSignals {
  userAgent: string;
  method: string;
  purpose: string | null;
}

export function detectBot(input: BotSignals): { bot: boolean; reason: BotReason | null } {
  const reason = requestBotReason(input) ?? userAgentBotReason(input.userAgent);
  return { bot: reason !== null, reason };
}

/** What the request itself says, checked first: a HEAD or a speculative load is never a click, whoever sends it. */
export function requestBotReason({ method, purpose }: Omit<BotSignals, 'userAgent'>): BotReason | null {
  if (method.toUpperCase() === 'HEAD') return 'head-request';
  if (purpose !== null && SPECULATIVE_PURPOSES.has(purpose)) return 'prefetch';
  return null;
}

/** What the User-Agent alone says: a function of the string, so enrichment can cache it. */
export function userAgentBotReason(userAgent: string): BotReason | null {
  if (LINK_PREVIEW_PATTERN.test(userAgent)) return 'link-preview';
  if (userAgent.trim() === '') return 'empty-user-agent';
  if (isbot(userAgent)) return 'user-agent';
  return null;
}
