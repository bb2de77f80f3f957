/**
 * Raw HTTP/1.1 over `node:net`, for what fetch and node:http clients never send (CONNECT, a
 * repeated Host, a body that never ends, any method token) and to see exactly what comes back.
 */
import { connect, type Socket } from 'node:net';

export interface RawExchange {
  /** Everything the server sent before it closed the connection. */
  readonly response: string;
  /** Body bytes the client had handed to the socket when the answer began. */
  readonly sentBeforeAnswer: number;
}

/**
 * Opens a connection, writes `head`, then lets `feed` write body bytes (returning how many), and
 * resolves once the server has answered and closed the connection. Rejects if that does not
 * happen within `timeoutMs`: a front that never answers, or answers and keeps the connection
 * open when it should close it, fails here; a dropped connection resolves with an empty response.
 */
export function rawExchange(
  port: number,
  head: string,
  feed: (socket: Socket) => () => number = () => () => 0,
  timeoutMs = 5_000,
): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    let response = '';
    let sentBeforeAnswer = -1;
    let sent: () => number = () => 0;
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(head);
      sent = feed(socket);
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer and close within ${timeoutMs} ms; received so far: ${JSON.stringify(response.slice(0, 200))}`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      if (sentBeforeAnswer < 0) sentBeforeAnswer = sent();
      response += chunk.toString('latin1');
    });
    // The server closing while the client still writes can surface as EPIPE or ECONNRESET: expected.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ response, sentBeforeAnswer });
    });
  });
}

export const statusLine = (response: string): string => response.split('\r\n')[0] ?? '';

/** A header of the first response in `response`. */
export const headerOf = (response: string, name: string): string | undefined =>
  new RegExp(`^${name}: *(.*)$`, 'im').exec(response.split('\r\n\r\n')[0] ?? '')?.[1]?.trim();

/** The body of a single response (everything after its head). */
export const bodyOf = (response: string): string => response.slice(response.indexOf('\r\n\r\n') + 4);
