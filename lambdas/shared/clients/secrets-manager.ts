/** The Secrets Manager client of the API's key lookup. */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { cachedBy } from './settings';

export const secretsManagerClient = cachedBy((config) => new SecretsManagerClient(config), 'AWS_ENDPOINT_URL_SECRETS_MANAGER');
