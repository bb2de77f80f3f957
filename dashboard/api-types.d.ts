// The API's own types of what the page reads: one definition for the functions and the page (type-checked by `tsc -p dashboard`).
export type { StatsResponse } from '../lambdas/domain/stats';
export type { LinkView } from '../lambdas/handlers/api/links';
export type { CreatedShare, ShareView } from '../lambdas/handlers/api/shares';
