import { once } from 'node:events';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import type { LocalTopology } from '@mela/topology';
import { assertPortsFree, stateDir } from '@mela/toolchain';
import { startSmtpServer, type ReceivedMail } from './smtp.js';

/**
 * Local mode's stand-in for the mail and SMS providers: an SMTP server that saves each email
 * as `.mela/mailbox/<n>.eml`, and webhook endpoints (`/sms`, `/push`) that append to
 * `.mela/mailbox/<channel>.log`. `GET /` lists what arrived; `POST /smtp/stop` and
 * `/smtp/start` take the mail relay away and back (the drills).
 */
export async function startMailbox(topology: LocalTopology): Promise<{ close(): Promise<void> }> {
  const dir = join(stateDir, 'mailbox');
  mkdirSync(dir, { recursive: true });
  await assertPortsFree(
    [
      { host: topology.host, port: topology.mailbox.smtpPort, what: "the mailbox's SMTP" },
      { host: topology.host, port: topology.mailbox.httpPort, what: "the mailbox's web page" },
    ],
    'move them with MELA_MAILBOX_SMTP_PORT and MELA_MAILBOX_HTTP_PORT',
  );
  const inbox: { channel: string; at: string; summary: string }[] = [];
  let count = 0;
  const smtpOptions = {
    host: topology.host,
    port: topology.mailbox.smtpPort,
    onMessage(mail: ReceivedMail) {
      count += 1;
      // Whole or not at all: a reader (the drills) never sees half a message.
      const file = join(dir, `${String(Date.now())}-${String(count)}.eml`);
      writeFileSync(`${file}.part`, mail.raw);
      renameSync(`${file}.part`, file);
      const summary = `to ${mail.recipients.join(', ')}: ${mail.header('Subject')}`;
      inbox.push({ channel: 'email', at: new Date().toISOString(), summary });
    },
  };
  let smtp: { close(): Promise<void> } | undefined = await startSmtpServer(smtpOptions);
  /** `POST /smtp/stop|start`: the mail relay goes away and comes back (`npm run drill`). */
  const control = async (action: string): Promise<boolean> => {
    if (action === 'stop') {
      await smtp?.close();
      smtp = undefined;
      return true;
    }
    if (action === 'start') {
      smtp ??= await startSmtpServer(smtpOptions);
      return true;
    }
    return false;
  };
  const http = createServer((req, res) => {
    if (req.method === 'GET') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(inbox.slice(-100)));
      return;
    }
    const smtpControl = /^\/smtp\/(stop|start)$/.exec(req.url ?? '');
    if (req.method === 'POST' && smtpControl?.[1] !== undefined) {
      control(smtpControl[1]).then(
        () => res.writeHead(204).end(),
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const channel = (req.url ?? '/').slice(1) || 'webhook';
      appendFileSync(join(dir, `${channel}.log`), `${new Date().toISOString()} ${body}\n`);
      inbox.push({ channel, at: new Date().toISOString(), summary: body.slice(0, 200) });
      res.writeHead(202).end();
    });
  });
  http.listen(topology.mailbox.httpPort, topology.host);
  await once(http, 'listening');
  return {
    close: async () => {
      http.closeAllConnections();
      await Promise.all([
        new Promise<void>((resolve) => http.close(() => resolve())),
        smtp?.close(),
      ]);
    },
  };
}

/**
 * The order confirmations the local mailbox receives from `sinceMs` on (its files are named
 * after their arrival time): each call reads only the files that arrived since the last and
 * answers order id (`X-Mela-Order-ID`) → the Message-ID of each email received for it.
 */
export function mailboxOrderEmails(sinceMs: number): () => ReadonlyMap<string, readonly string[]> {
  const dir = join(stateDir, 'mailbox');
  const emails = new Map<string, string[]>();
  const read = new Set<string>();
  return () => {
    if (!existsSync(dir)) return emails;
    for (const file of readdirSync(dir)) {
      if (read.has(file)) continue;
      const at = Number(/^(\d+)-\d+\.eml$/.exec(file)?.[1]);
      if (!(at >= sinceMs)) continue;
      read.add(file);
      const mail = readFileSync(join(dir, file), 'utf8');
      const id = /^X-Mela-Order-ID: (.+)$/im.exec(mail)?.[1]?.trim();
      const messageId = /^Message-ID: (.+)$/im.exec(mail)?.[1]?.trim() ?? file;
      if (id === undefined) continue;
      const received = emails.get(id) ?? [];
      received.push(messageId);
      emails.set(id, received);
    }
    return emails;
  };
}
