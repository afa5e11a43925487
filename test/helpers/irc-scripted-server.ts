/** A scripted IRC server for unit tests: answers each client line through `script`, records what it read. */
import { createServer, type Server, type Socket } from 'node:net';
import { LineBuffer, parseLine, type IrcMessage } from '../../src/protocols/irc/codec.js';

export type IrcScript = (message: IrcMessage, reply: (line: string) => void) => void;

export function scriptedIrcServer(script: IrcScript): Promise<{ server: Server; port: number; heard: string[] }> {
  const heard: string[] = [];
  const server = createServer((socket: Socket) => {
    const lines = new LineBuffer();
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('data', (chunk: string) =>
      lines.push(chunk, (line) => {
        const text = line.replace(/\r$/, '');
        heard.push(text);
        const message = parseLine(text);
        if (message) script(message, (reply) => socket.write(`${reply}\r\n`));
      }),
    );
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port, heard })),
  );
}
