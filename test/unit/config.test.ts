import { apiConfig, ConfigError } from '../../lambdas/shared/config';

/** What the api function needs besides the variable under test. */
const API_ENVIRONMENT = {
  LINKS_TABLE_NAME: 'links',
  API_KEYS_TABLE_NAME: 'keys',
  API_REQUEST_COUNTS_TABLE_NAME: 'request-counts',
  QUARTER_HOUR_TABLE_NAME: 'quarter-hours',
  DAILY_TABLE_NAME: 'days',
  MONTHLY_TABLE_NAME: 'months',
  PENDING_ROLLUPS_TABLE_NAME: 'pending',
  RAW_CLICKS_TABLE_NAME: 'raw-clicks',
  CLICKS_API_KEY: 'key',
};

describe('apiConfig: ALLOW_PRIVATE_DESTINATIONS', () => {
  const saved = { ...process.env };

  beforeEach(() => {
    process.env = { ...saved, ...API_ENVIRONMENT };
    delete process.env.ALLOW_PRIVATE_DESTINATIONS;
  });

  afterAll(() => {
    process.env = saved;
  });

  it('keeps links to public hosts when the variable is unset or empty', () => {
    expect(apiConfig().allowPrivateDestinations).toBe(false);
    process.env.ALLOW_PRIVATE_DESTINATIONS = ' ';
    expect(apiConfig().allowPrivateDestinations).toBe(false);
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    [' false ', false],
    ['False', false],
  ])('reads %j as %s', (raw, expected) => {
    process.env.ALLOW_PRIVATE_DESTINATIONS = raw;
    expect(apiConfig().allowPrivateDestinations).toBe(expected);
  });

  it.each(['yes', '1', 'on'])('refuses %j, naming the variable', (raw) => {
    process.env.ALLOW_PRIVATE_DESTINATIONS = raw;
    expect(() => apiConfig()).toThrow(ConfigError);
    expect(() => apiConfig()).toThrow(`Environment variable ALLOW_PRIVATE_DESTINATIONS must be "true" or "false", got "${raw}".`);
  });
});

describe('apiConfig: API_KEY_REQUESTS_PER_MINUTE', () => {
  const saved = { ...process.env };

  beforeEach(() => {
    process.env = { ...saved, ...API_ENVIRONMENT };
    delete process.env.API_KEY_REQUESTS_PER_MINUTE;
  });

  afterAll(() => {
    process.env = saved;
  });

  it('defaults to 300 and reads a positive integer', () => {
    expect(apiConfig().requestsPerMinutePerKey).toBe(300);
    process.env.API_KEY_REQUESTS_PER_MINUTE = '25';
    expect(apiConfig().requestsPerMinutePerKey).toBe(25);
  });

  it.each(['0', '1.5', 'many', '-3'])('refuses %j, naming the variable', (raw) => {
    process.env.API_KEY_REQUESTS_PER_MINUTE = raw;
    expect(() => apiConfig()).toThrow(/Environment variable API_KEY_REQUESTS_PER_MINUTE must be a/);
  });
});
