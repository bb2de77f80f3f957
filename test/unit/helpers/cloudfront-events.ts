/** Viewer-request events as CloudFront Functions receive them (header names lower-case), for the edge tests. */
import type { CloudFrontValues, CloudFrontViewerRequestEvent } from '../../../local/edge/cloudfront-function-sandbox';

export interface ViewerRequest {
  readonly uri: string;
  readonly method?: string;
  readonly headers?: CloudFrontValues;
  readonly viewerIp?: string;
}

export function viewerRequestEvent({ uri, method = 'GET', headers = { host: { value: 'sho.rt' } }, viewerIp = '203.0.113.7' }: ViewerRequest): CloudFrontViewerRequestEvent {
  return {
    version: '1.0',
    context: { eventType: 'viewer-request', distributionId: 'EDFDVBD6EXAMPLE', requestId: 'test-request' },
    viewer: { ip: viewerIp },
    request: { method, uri, querystring: {}, headers, cookies: {} },
  };
}
