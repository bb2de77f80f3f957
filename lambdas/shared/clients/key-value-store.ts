/**
 * The CloudFront KeyValueStore data-plane client of the edge store sync. The API is signed with SigV4A
 * only; importing @aws-sdk/signature-v4a registers the SDK's pure-JavaScript SigV4A signer with the
 * client's default SignatureV4MultiRegion (docs/edge.md), so no native CRT is built or bundled.
 */
import '@aws-sdk/signature-v4a';
import { CloudFrontKeyValueStoreClient } from '@aws-sdk/client-cloudfront-keyvaluestore';
import { cachedBy } from './settings';

/** The SDK's own name for this service's endpoint variable; the local stack sets it to its emulator. */
export const KEY_VALUE_STORE_ENDPOINT_VARIABLE = 'AWS_ENDPOINT_URL_CLOUDFRONT_KEYVALUESTORE';

export const keyValueStoreClient = cachedBy(({ endpoint, ...config }) => {
  if (endpoint === undefined) return new CloudFrontKeyValueStoreClient(config);
  // Not `endpoint`: the service's endpoint rules put the store's account id in front of a configured
  // host (123456789012.127.0.0.1, not even a valid URL). The rules still run for the signing scheme
  // (SigV4A); only the request's URL is the emulator's.
  const url = new URL(endpoint);
  return new CloudFrontKeyValueStoreClient({ ...config, endpointProvider: () => ({ url }) });
}, KEY_VALUE_STORE_ENDPOINT_VARIABLE);
