import { once } from 'node:events';
import { SMTPServer } from 'smtp-server';

/** A received message: the raw RFC 5322 text and the envelope recipients. */
export interface ReceivedMail {
  readonly raw: string;
  readonly recipients: readonly string[];
  /** The first value of a header, unfolded no further than the line it starts on. */
  header(name: string): string;
}

/**
 * A plain SMTP server (no auth, no TLS) that hands every message to `onMessage`: the local
 * stand-in for a mail provider, in `npm start`'s mailbox and in the tests.
 */
export async function startSmtpServer(options: {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly onMessage: (mail: ReceivedMail) => void;
}): Promise<{ readonly port: number; close(): Promise<void> }> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (raw += chunk));
      stream.on('end', () => {
        options.onMessage({
          raw,
          recipients: session.envelope.rcptTo.map((r) => r.address),
          header: (name) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(raw)?.[1]?.trim() ?? '',
        });
        callback();
      });
    },
  });
  // A client that vanishes mid-session (a notification replica killed, a reset connection) is
  // routine for a mail server: without a listener its 'error' would crash the process.
  server.on('error', () => undefined);
  server.listen(options.port, options.host);
  await once(server.server, 'listening');
  const { port } = server.server.address() as { port: number };
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
