import { createServer, Agent, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { callRuntimeApi } from '../../lambdas/shared/runtime-api-client';

/**
 * The Runtime API closes a kept-alive socket that sat idle while the environment was frozen; the
 * client's next request on it fails before the server reads it. Played here by a server that drops
 * the connection, unanswered, on the second request a socket carries.
 */
describe('callRuntimeApi on a kept-alive socket the server dropped', () => {
  let server: Server;
  let runtimeApi: string;
  const requestsBySocket = new Map<Socket, number>();
  const received: string[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      const seen = (requestsBySocket.get(request.socket) ?? 0) + 1;
      requestsBySocket.set(request.socket, seen);
      if (seen === 2) {
        request.socket.destroy();
        return;
      }
      received.push(`${request.method} ${request.url}`);
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    runtimeApi = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends the request again on a fresh socket, once', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await callRuntimeApi(runtimeApi, agent, 'GET', '/next')).status).toBe(200);
      const posted = await callRuntimeApi(runtimeApi, agent, 'POST', '/response', {}, '{"statusCode":302}');
      expect(posted).toMatchObject({ status: 200, body: 'ok' });
      expect(received).toEqual(['GET /next', 'POST /response']);
    } finally {
      agent.destroy();
    }
  });

  it('gives up when a fresh socket fails too', async () => {
    const agent = new Agent({ keepAlive: false });
    const closed = createServer((request) => request.socket.destroy());
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    try {
      const address = `127.0.0.1:${(closed.address() as AddressInfo).port}`;
      await expect(callRuntimeApi(address, agent, 'POST', '/response', {}, '{}')).rejects.toMatchObject({ code: 'ECONNRESET' });
    } finally {
      await new Promise((resolve) => closed.close(resolve));
    }
  });
});
