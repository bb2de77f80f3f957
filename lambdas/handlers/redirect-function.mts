/**
 * The redirect function's Lambda entry. An ES module so that init can await the extension's
 * registration (top-level await): the runtime imports this module, and waits for it, before its
 * first `next`, after which Lambda accepts no more registrations. The handler stays in redirect.ts,
 * which in-process callers (tests, bench) import as CommonJS.
 */
import { startClickPublisherExtension } from './redirect.js';

export { flushClicks, handler } from './redirect.js';

await startClickPublisherExtension();
