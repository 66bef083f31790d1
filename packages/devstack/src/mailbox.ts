import { once } from 'node:events';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import type { LocalTopology } from '@mela/topology';
import { stateDir } from './paths.js';
import { startSmtpServer } from './smtp.js';

/**
 * Local mode's stand-in for the mail and SMS providers: an SMTP server that saves each email
 * as `.mela/mailbox/<n>.eml`, and webhook endpoints (`/sms`, `/push`) that append to
 * `.mela/mailbox/<channel>.log`. `GET /` lists what arrived.
 */
export async function startMailbox(topology: LocalTopology): Promise<{ close(): Promise<void> }> {
  const dir = join(stateDir, 'mailbox');
  mkdirSync(dir, { recursive: true });
  const inbox: { channel: string; at: string; summary: string }[] = [];
  let count = 0;
  const smtp = await startSmtpServer({
    host: topology.host,
    port: topology.mailbox.smtpPort,
    onMessage(mail) {
      count += 1;
      writeFileSync(join(dir, `${String(Date.now())}-${String(count)}.eml`), mail.raw);
      const summary = `to ${mail.recipients.join(', ')}: ${mail.header('Subject')}`;
      inbox.push({ channel: 'email', at: new Date().toISOString(), summary });
    },
  });
  const http = createServer((req, res) => {
    if (req.method === 'GET') {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify(inbox.slice(-100)));
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
        smtp.close(),
      ]);
    },
  };
}
