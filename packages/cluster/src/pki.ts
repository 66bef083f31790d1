import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '@mela/toolchain';

/** The cluster's certificates: one CA, and the client certificates the control plane presents. */
export interface ClusterPki {
  readonly caCert: string;
  readonly caKey: string;
  /** The API server's client certificate towards kubelets (system:masters). */
  readonly kubeletClient: { readonly cert: string; readonly key: string };
  /** The aggregation layer's front proxy (metrics-server trusts its request headers). */
  readonly frontProxy: { readonly cert: string; readonly key: string };
  /** The API server's serving certificate: the node's address and the `kubernetes` Service. */
  readonly apiserver: { readonly cert: string; readonly key: string };
}

function issue(
  dir: string,
  ca: { cert: string; key: string },
  name: string,
  subject: string,
  extensions: string,
): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  if (existsSync(cert)) return { cert, key };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, extensions);
  run('openssl', [
    'req',
    '-new',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    csr,
    '-subj',
    subject,
  ]);
  run('openssl', [
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-days',
    '365',
    '-out',
    cert,
    '-extfile',
    ext,
  ]);
  return { cert, key };
}

/** Makes (once) the CA and certificates in `dir` with openssl. */
export function ensurePki(dir: string, nodeIp: string, kubernetesServiceIp: string): ClusterPki {
  mkdirSync(dir, { recursive: true });
  const caCert = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  if (!existsSync(caCert)) {
    run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      caKey,
      '-out',
      caCert,
      '-days',
      '365',
      '-subj',
      '/CN=mela-local-cluster-ca',
    ]);
  }
  const ca = { cert: caCert, key: caKey };
  const client =
    'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n';
  return {
    caCert,
    caKey,
    kubeletClient: issue(
      dir,
      ca,
      'apiserver-kubelet-client',
      '/O=system:masters/CN=kube-apiserver-kubelet-client',
      client,
    ),
    frontProxy: issue(dir, ca, 'front-proxy-client', '/CN=front-proxy-client', client),
    apiserver: issue(
      dir,
      ca,
      'apiserver',
      '/CN=kube-apiserver',
      [
        'basicConstraints=CA:FALSE',
        'keyUsage=digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        `subjectAltName=IP:${nodeIp},IP:${kubernetesServiceIp},IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost`,
        '',
      ].join('\n'),
    ),
  };
}
