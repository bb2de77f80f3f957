import { detectBot } from '../../lambdas/domain/bots';
import { USER_AGENTS } from '../fixtures/user-agents';

const get = (userAgent: string, purpose: string | null = null) => detectBot({ userAgent, method: 'GET', purpose });

describe('detectBot', () => {
  it.each([
    ['Chrome on Windows', USER_AGENTS.chromeWindows],
    ['Safari on iPhone', USER_AGENTS.safariIphone],
    ['Samsung Internet on an Android tablet', USER_AGENTS.samsungTablet],
    ['Firefox on Linux', USER_AGENTS.firefoxLinux],
    ['Edge', USER_AGENTS.edgeWindows],
    ["Pinterest's in-app browser", USER_AGENTS.pinterestInAppIphone],
  ])('lets %s through as a human', (_, userAgent) => {
    expect(get(userAgent)).toEqual({ bot: false, reason: null });
  });

  it.each([
    ['facebookexternalhit', USER_AGENTS.facebookexternalhit],
    ['Slackbot-LinkExpanding', USER_AGENTS.slackbot],
    ['WhatsApp', USER_AGENTS.whatsapp],
    ['Twitterbot', USER_AGENTS.twitterbot],
    ['Discordbot', USER_AGENTS.discordbot],
    ['TelegramBot', USER_AGENTS.telegrambot],
    ['LinkedInBot', USER_AGENTS.linkedinbot],
    ["Bluesky's Cardyb", USER_AGENTS.blueskyCardyb],
    ['Mastodon', USER_AGENTS.mastodon],
  ])('flags %s as a link preview', (_, userAgent) => {
    expect(get(userAgent)).toEqual({ bot: true, reason: 'link-preview' });
  });

  it.each([
    ['curl', USER_AGENTS.curl],
    ['Googlebot', USER_AGENTS.googlebot],
    ['Googlebot smartphone', USER_AGENTS.googlebotSmartphone],
  ])('flags %s by its User-Agent', (_, userAgent) => {
    expect(get(userAgent)).toEqual({ bot: true, reason: 'user-agent' });
  });

  it.each(['', '   '])('flags an empty User-Agent %p', (userAgent) => {
    expect(get(userAgent)).toEqual({ bot: true, reason: 'empty-user-agent' });
  });

  it.each(['prefetch', 'preview'])('flags a %s by its purpose, even from a real browser', (purpose) => {
    expect(get(USER_AGENTS.chromeWindows, purpose)).toEqual({ bot: true, reason: 'prefetch' });
  });

  it('does not flag other purposes', () => {
    expect(get(USER_AGENTS.chromeWindows, 'instant')).toEqual({ bot: false, reason: null });
  });

  it('checks in order: HEAD, then purpose, then link previews, then empty, then isbot', () => {
    expect(detectBot({ userAgent: USER_AGENTS.slackbot, method: 'HEAD', purpose: 'prefetch' }).reason).toBe('head-request');
    expect(detectBot({ userAgent: USER_AGENTS.chromeWindows, method: 'head', purpose: null }).reason).toBe('head-request');
    expect(get(USER_AGENTS.slackbot, 'prefetch').reason).toBe('prefetch');
    expect(get('', 'preview').reason).toBe('prefetch');
    // Discordbot is also a crawler to isbot: the more specific reason wins.
    expect(get(USER_AGENTS.discordbot).reason).toBe('link-preview');
  });
});
