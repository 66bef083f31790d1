import { request as httpRequestOf } from 'node:http';
import { request as httpsRequestOf } from 'node:https';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: string;
}

/**
 * One HTTP(S) request on a fresh connection, optionally from another loopback address
 * (`127.0.0.2`, …) — a different client as far as the edge can tell — or to a server with a
 * self-signed certificate (`insecure`), which fetch can do neither of.
 */
export function httpRequest(
  url: string,
  options: {
    readonly method?: string;
    readonly headers?: Readonly<Record<string, string>>;
    readonly body?: string;
    readonly localAddress?: string;
    /** Accept any certificate (test servers' self-signed ones). */
    readonly insecure?: boolean;
  } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = url.startsWith('https:') ? httpsRequestOf : httpRequestOf;
    const req = request(
      url,
      {
        ...(options.insecure ? { rejectUnauthorized: false } : {}),
        agent: false,
        method: options.method ?? 'GET',
        headers: { ...options.headers },
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
