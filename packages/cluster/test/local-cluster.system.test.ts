import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  AppsV1Api,
  AutoscalingV2Api,
  BatchV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { createConnection } from 'mysql2/promise';
import { parseAllDocuments } from 'yaml';
import { ensureHelm, repoRoot, stateDir } from '@mela/toolchain';
import { runLoad } from '@mela/load';
import { createDevTokenIssuer } from '@mela/platform';
import { ScaleWatcher, type ScaleSample } from '@mela/scaling';
import { artifactPath, freePort, httpRequest, launchChromium, until } from '@mela/testkit';
import { serviceNames } from '@mela/topology';
import {
  clusterDown,
  clusterUp,
  nodeName,
  startClusterEdge,
  type ClusterEdge,
  type LocalCluster,
  type Manifest,
} from '../src/index.js';

/**
 * charts/local-cluster on a real single-node cluster: Mela's image, built here from its
 * Dockerfile, as pods on a real kubelet (containerd + runc); Services through kube-proxy;
 * NetworkPolicies enforced; DNS from CoreDNS; CPU from metrics-server; the data layer on the
 * data host outside the cluster. The edge is Mela's generated nginx on this host, pointed at the
 * Services' ClusterIPs (`npm run cluster:local -- edge`; the cluster has no Gateway).
 */
const namespace = 'mela';
const chart = join(repoRoot, 'charts/local-cluster');

const manifests = (): Manifest[] =>
  readdirSync(chart)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .flatMap((file) => parseAllDocuments(readFileSync(join(chart, file), 'utf8')))
    .map((doc) => doc.toJS() as Manifest);

// Bridges, iptables, mounts and cgroups: the cluster needs root (as CI and `npm start` have).
const root = process.getuid?.() === 0;

describe(
  'the local cluster runs charts/local-cluster',
  { timeout: 1_500_000, skip: root ? false : 'the local cluster needs root' },
  () => {
    let cluster: LocalCluster;
    let core: CoreV1Api;
    let edge: ClusterEdge | undefined;
    let token: (userId: string) => Promise<string>;
    let sysctlsBefore: Record<string, string> = {};
    const productId = 700_000 + Math.floor(Math.random() * 200_000);
    const productName = `Cluster Phone ${randomBytes(3).toString('hex')}`;

    /** The edge, in front of the four Services' ClusterIPs. */
    const edgeUrl = () => {
      if (edge === undefined) throw new Error('the edge has not started');
      return edge.url;
    };

    /** kubectl without blocking the event loop (the test's own traffic keeps flowing). */
    const kubectl = async (args: readonly string[]) =>
      (
        await promisify(execFile)(
          cluster.binaries.kubectl,
          [`--kubeconfig=${cluster.kubeconfig}`, ...args],
          {
            maxBuffer: 16 * 1024 * 1024,
          },
        )
      ).stdout;

    before(
      async () => {
        cluster = await clusterUp();
        // What the machine had before the cluster, as the cluster recorded it to restore.
        sysctlsBefore = (
          JSON.parse(readFileSync(join(stateDir, 'data/cluster/before.json'), 'utf8')) as {
            sysctls: Record<string, string>;
          }
        ).sysctls;
        core = cluster.config.makeApiClient(CoreV1Api);
        await cluster.apply(manifests());
        // The product the shopper buys, written straight into the commerce shard on the data host.
        const { topology } = cluster.dataHost;
        const commerce = topology.mysql.instances.find((i) => i.keyspace === 'commerce');
        assert.ok(commerce);
        const db = await createConnection({
          uri: `mysql://${topology.mysql.user}:${topology.mysql.password}@${topology.host}:${String(commerce.port)}/commerce`,
        });
        try {
          await until(
            async () => {
              const [rows] = await db.query("SHOW TABLES LIKE 'products'");
              return (rows as unknown[]).length === 1;
            },
            'the schema Job to create the products table',
            240_000,
          );
          await db.query(
            "INSERT IGNORE INTO categories (id, slug, name) VALUES (1, 'phones', 'Phones')",
          );
          await db.query(
            `INSERT INTO products (id, sku, name, description, category_id, price_cents, stock)
         VALUES (?, ?, ?, 'Sold on a real kubelet', 1, 1999900, 50)`,
            [productId, `SKU-${String(productId)}`, productName],
          );
        } finally {
          await db.end();
        }
        const secret = await core.readNamespacedSecret({ name: 'mela-auth', namespace });
        const key = Buffer.from(secret.data?.['jwt-secret'] ?? '', 'base64').toString();
        const issuer = createDevTokenIssuer({ issuer: 'mela-dev', audience: 'mela', secret: key });
        token = (userId) => issuer.issue({ userId, roles: ['user'] });
      },
      { timeout: 900_000 },
    );
    after(
      async () => {
        await edge?.stop();
        // Should a test fail before the last one, the cluster still goes.
        if (process.env['MELA_KEEP_CLUSTER'] !== 'true') await clusterDown();
      },
      { timeout: 300_000 },
    );

    it(
      'when applied, then the schema Job completes, every pod of the environment is scheduled on the node and Ready, and none restarts',
      { timeout: 600_000 },
      async () => {
        const batch = cluster.config.makeApiClient(BatchV1Api);
        await until(
          async () => {
            const jobs = (await batch.listNamespacedJob({ namespace })).items;
            return jobs.length === 1 && (jobs[0]?.status?.succeeded ?? 0) === 1;
          },
          'the schema Job to complete',
          240_000,
        );
        const apps = cluster.config.makeApiClient(AppsV1Api);
        await until(
          async () => {
            const deployments = (await apps.listNamespacedDeployment({ namespace })).items;
            return (
              deployments.length === serviceNames.length &&
              deployments.every(
                (d) =>
                  (d.status?.readyReplicas ?? 0) >= 1 &&
                  d.status?.readyReplicas === d.status?.replicas &&
                  d.status?.updatedReplicas === d.status?.replicas,
              )
            );
          },
          'every Deployment Ready',
          240_000,
        );
        const pods = (await core.listNamespacedPod({ namespace })).items.filter(
          (p) => p.metadata?.labels?.['app.kubernetes.io/name'] !== 'mela-schema',
        );
        assert.ok(pods.length >= serviceNames.length);
        for (const pod of pods) {
          const name = String(pod.metadata?.name);
          assert.equal(pod.spec?.nodeName, nodeName, `${name} is scheduled`);
          assert.equal(pod.status?.phase, 'Running', name);
          for (const status of pod.status.containerStatuses ?? []) {
            assert.equal(status.restartCount, 0, `${name} restarted`);
            assert.equal(status.ready, true, `${name} is Ready`);
          }
        }
      },
    );

    it('when a shopper browses, fills a cart and orders through the edge, then the order is confirmed and its email arrives on the data host', async () => {
      edge = await startClusterEdge(cluster, { port: await freePort() });
      // A pod is Ready a moment before kube-proxy routes its Service to it: until then the edge
      // answers 503. Each service answering for itself (a 401 without a token) means routed.
      for (const path of ['/api/catalog/categories', '/api/cart', '/api/orders']) {
        await until(
          async () => (await httpRequest(`${edgeUrl()}${path}`)).status < 500,
          `the edge reaching ${path}`,
          60_000,
        );
      }
      const product = await httpRequest(`${edgeUrl()}/api/catalog/products/${String(productId)}`);
      assert.equal(product.status, 200, product.body);
      assert.equal((JSON.parse(product.body) as { name: string }).name, productName);

      const user = `kube-${randomBytes(4).toString('hex')}`;
      const auth = {
        authorization: `Bearer ${await token(user)}`,
        'content-type': 'application/json',
      };
      const added = await httpRequest(`${edgeUrl()}/api/cart/items`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ productId: String(productId), quantity: 1 }),
      });
      assert.ok(added.status === 200 || added.status === 201, added.body);
      const placed = await httpRequest(`${edgeUrl()}/api/orders`, {
        method: 'POST',
        headers: { ...auth, 'idempotency-key': randomUUID() },
        body: JSON.stringify({}),
      });
      assert.equal(placed.status, 201, placed.body);
      // The waiting room let it in on nginx's own check, with the order Deployment's secret.
      assert.match(
        readFileSync(join(edge.dir, 'nginx.conf'), 'utf8'),
        /js_set \$mela_checkout_principal checkout_token\.principal;/,
      );
      const order = JSON.parse(placed.body) as { id: string; status: string };
      const mine = await httpRequest(`${edgeUrl()}/api/orders/${order.id}`, { headers: auth });
      assert.equal(mine.status, 200, mine.body);

      // The notification consumer (a pod) sends it through the mail-relay Service to the mailbox.
      const { topology } = cluster.dataHost;
      await until(
        async () => {
          const inbox = await httpRequest(
            `http://${topology.host}:${String(topology.mailbox.httpPort)}/`,
          );
          return inbox.body.includes(`${user}@example.com`);
        },
        `the confirmation email to ${user}@example.com`,
        60_000,
      );
    });

    it('when the storefront opens in headless Chromium through the edge, then the products render and the search finds the one on sale', async () => {
      const browser = await launchChromium();
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        const errors: string[] = [];
        page.on('pageerror', (error) => errors.push(error.message));
        await page.goto(`${edgeUrl()}/`);
        await page.getByTestId('product').first().waitFor();
        await page.getByRole('searchbox', { name: 'Search products' }).fill(productName);
        await page.getByRole('button', { name: 'Search' }).click();
        await page.getByTestId('product').filter({ hasText: productName }).waitFor();
        await page.screenshot({ path: artifactPath('storefront-cluster.png'), fullPage: true });
        assert.deepEqual(errors, []);
      } finally {
        await browser.close();
      }
    });

    /**
     * A pod with `labels` (so that its service's NetworkPolicy selects it) that tries each
     * target — a TCP connection, or a DNS lookup — once the policy controller enforces for it.
     */
    async function probeFrom(
      labels: Record<string, string>,
      targets: readonly { host: string; port?: number }[],
    ): Promise<Record<string, string>> {
      const name = `probe-${randomBytes(3).toString('hex')}`;
      const script = `
      const net = require('node:net'); const dns = require('node:dns').promises;
      const targets = ${JSON.stringify(targets)};
      const one = (t) => t.port === undefined
        ? dns.lookup(t.host).then((a) => 'resolved ' + a.address, (e) => 'failed ' + e.code)
        : new Promise((resolve) => {
            const s = net.connect(t.port, t.host);
            s.setTimeout(3000);
            s.on('connect', () => { s.destroy(); resolve('connected'); });
            s.on('timeout', () => { s.destroy(); resolve('timeout'); });
            s.on('error', (e) => resolve('failed ' + e.code));
          });
      Promise.all(targets.map(one)).then((r) => console.log(JSON.stringify(Object.fromEntries(
        targets.map((t, i) => [t.host + (t.port === undefined ? '' : ':' + t.port), r[i]])))));`;
      await cluster.apply([
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, namespace, labels },
          spec: {
            restartPolicy: 'Never',
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: 0,
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 1000,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            containers: [
              {
                name: 'probe',
                image: 'mela:dev',
                imagePullPolicy: 'IfNotPresent',
                command: ['node', '-e', 'setInterval(() => {}, 60000)'],
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
              },
            ],
          },
        },
      ]);
      try {
        let ip = '';
        await until(
          async () => {
            const pod = await core.readNamespacedPod({ name, namespace });
            ip = pod.status?.podIP ?? '';
            return pod.status?.phase === 'Running' && ip !== '';
          },
          `probe pod ${name} to run`,
          60_000,
        );
        // Like every enforcer, kube-router takes a moment to see a new pod: wait for its chain.
        await until(
          () =>
            spawnSync('iptables', ['-w', '-S', 'KUBE-ROUTER-FORWARD'], {
              encoding: 'utf8',
            }).stdout.includes(`-s ${ip}/32`),
          `the policy controller to enforce for ${name} (${ip})`,
          60_000,
        );
        const out = await kubectl(['-n', namespace, 'exec', name, '--', 'node', '-e', script]);
        return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, string>;
      } finally {
        await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 });
      }
    }

    it('when pods of one service try the data layer and the other services, then exactly what their NetworkPolicy allows gets through, and DNS works under default-deny egress', async () => {
      const as = (app: string) => ({ 'app.kubernetes.io/name': app, 'mela.dev/probe': 'true' });
      const cart = await probeFrom(as('cart'), [
        { host: 'catalog.mela.svc.cluster.local' },
        { host: 'redis', port: 6379 },
        { host: 'redis-carts', port: 6379 },
        { host: 'catalog', port: 3000 },
        { host: 'mysql-commerce-0', port: 3306 },
        { host: 'mela-kafka-bootstrap', port: 9092 },
        { host: 'order', port: 3000 },
      ]);
      assert.match(
        cart['catalog.mela.svc.cluster.local'] ?? '',
        /^resolved 10\.96\./,
        JSON.stringify(cart),
      );
      assert.equal(cart['redis:6379'], 'connected', JSON.stringify(cart));
      assert.equal(cart['redis-carts:6379'], 'connected', JSON.stringify(cart));
      assert.equal(cart['catalog:3000'], 'connected', JSON.stringify(cart));
      assert.notEqual(cart['mysql-commerce-0:3306'], 'connected', 'cart may not reach a shard');
      assert.notEqual(cart['mela-kafka-bootstrap:9092'], 'connected', 'cart may not reach Kafka');
      assert.notEqual(cart['order:3000'], 'connected', 'nobody inside may call order');

      const notification = await probeFrom(as('notification'), [
        { host: 'mysql-customer-x-80', port: 3306 },
        { host: 'mela-kafka-bootstrap', port: 9092 },
        { host: 'redis', port: 6379 },
        { host: 'redis-carts', port: 6379 },
        { host: 'catalog', port: 3000 },
      ]);
      assert.equal(
        notification['mysql-customer-x-80:3306'],
        'connected',
        JSON.stringify(notification),
      );
      assert.equal(
        notification['mela-kafka-bootstrap:9092'],
        'connected',
        JSON.stringify(notification),
      );
      assert.notEqual(notification['redis:6379'], 'connected', 'notification may not reach Redis');
      assert.notEqual(
        notification['redis-carts:6379'],
        'connected',
        'notification may not reach the carts',
      );
      assert.notEqual(
        notification['catalog:3000'],
        'connected',
        'notification may not call catalog',
      );
    });

    it('when helm test’s pod (charts/mela’s test hook) runs here, then it finds every public service answering, let through by the policies', async () => {
      const rendered = execFileSync(
        ensureHelm(),
        [
          'template',
          'mela',
          join(repoRoot, 'charts/mela'),
          '--namespace',
          namespace,
          '--show-only',
          'templates/tests/shop-answers.yaml',
          '--set',
          'image.repository=mela',
          '--set',
          'image.tag=dev',
        ],
        { encoding: 'utf8' },
      );
      const hooks = parseAllDocuments(rendered).map((doc) => {
        const object = doc.toJS() as Manifest & { metadata: Record<string, unknown> };
        return { ...object, metadata: { ...object.metadata, namespace } };
      });
      const pod = hooks.find((o) => o.kind === 'Pod');
      assert.ok(pod);
      const name = pod.metadata.name;
      await cluster.apply(hooks);
      try {
        let phase = '';
        await until(
          async () => {
            phase = (await core.readNamespacedPod({ name, namespace })).status?.phase ?? '';
            return phase === 'Succeeded' || phase === 'Failed';
          },
          'helm test’s pod to finish',
          120_000,
        );
        const logs = await kubectl(['-n', namespace, 'logs', name]);
        assert.equal(phase, 'Succeeded', logs);
        assert.match(logs, /the shop answers/);
      } finally {
        await kubectl(['-n', namespace, 'delete', '--wait=false', 'pod,networkpolicy', name]);
      }
    });

    it(
      'when every service is restarted with kubectl rollout restart under traffic, then no request fails',
      { timeout: 900_000 },
      async () => {
        const user = `rollout-${randomBytes(3).toString('hex')}`;
        const auth = { authorization: `Bearer ${await token(user)}` };
        const catalogPath = { path: `/api/catalog/products/${String(productId)}`, headers: {} };
        const paths = [
          catalogPath,
          { path: '/api/cart', headers: auth },
          { path: '/api/orders', headers: auth },
        ];
        const failures: string[] = [];
        let answered = 0;
        let running = true;
        // A handful of clients, each from its own loopback address (anonymous limits are per address).
        const clients = Array.from({ length: 6 }, async (_, client) => {
          for (let i = 0; running; i += 1) {
            const { path, headers } = paths[(client + i) % paths.length] ?? catalogPath;
            const answer = await httpRequest(`${edgeUrl()}${path}`, {
              headers,
              localAddress: `127.0.${String(10 + client)}.${String(1 + (i % 200))}`,
            }).catch((error: unknown) => ({ status: 0, body: String(error), headers: {} }));
            answered += 1;
            if (answer.status >= 500 || answer.status === 0 || answer.status === 429)
              failures.push(`${path}: ${String(answer.status)} ${answer.body.slice(0, 120)}`);
          }
        });
        try {
          for (const service of serviceNames) {
            await kubectl(['-n', namespace, 'rollout', 'restart', `deployment/${service}`]);
            await kubectl([
              '-n',
              namespace,
              'rollout',
              'status',
              `deployment/${service}`,
              '--timeout=300s',
            ]);
          }
        } finally {
          running = false;
          await Promise.all(clients);
        }
        assert.ok(answered > 100, `only ${String(answered)} requests`);
        assert.deepEqual(failures, [], `${String(failures.length)} of ${String(answered)} failed`);
      },
    );

    it(
      'when npm run load drives the shop, then the catalog HPA scales its Deployment up on real CPU from metrics-server, and back down after the load, as scale:watch records',
      { timeout: 900_000 },
      async () => {
        const autoscaling = cluster.config.makeApiClient(AutoscalingV2Api);
        // The environment scales down after 5 quiet minutes; for the test, after 15 s.
        await autoscaling.patchNamespacedHorizontalPodAutoscaler(
          {
            name: 'catalog',
            namespace,
            body: {
              spec: {
                behavior: {
                  scaleDown: {
                    stabilizationWindowSeconds: 15,
                    policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
                  },
                },
              },
            },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
        const watcher = new ScaleWatcher(cluster.config, namespace);
        await watcher.start();
        const samples: ScaleSample[] = [];
        const reaction = { up: 0, down: 0 };
        const ticker = setInterval(() => samples.push(watcher.sample()), 1000);
        const catalog = () => samples.at(-1)?.hpas.find((h) => h.name === 'catalog');
        try {
          // Quiet first: one replica, its CPU (as the HPA reads it) under target, so that what
          // follows is the load's doing — a restarted pod's start-up CPU scales it up on its own.
          const cpu = () => Number.parseInt(catalog()?.metrics[0]?.current ?? 'NaN', 10);
          await until(
            () => catalog()?.current === 1 && catalog()?.desired === 1 && cpu() < 70,
            'the catalog quiet at one replica before the load',
            300_000,
          );
          const secret = await core.readNamespacedSecret({ name: 'mela-auth', namespace });
          const loadStarted = Date.now();
          const load = runLoad({
            url: edgeUrl(),
            scenario: 'shop',
            peak: 120,
            scale: 0.6,
            users: 200,
            buyers: 1,
            stock: 1,
            bots: 1,
            auth: { secret: Buffer.from(secret.data?.['jwt-secret'] ?? '', 'base64').toString() },
          });
          await until(
            () => (catalog()?.current ?? 0) > 1,
            'the catalog HPA to add replicas',
            180_000,
          );
          reaction.up = (Date.now() - loadStarted) / 1000;
          await load;
          const loadEnded = Date.now();
          await until(() => catalog()?.current === 1, 'the catalog back at one replica', 240_000);
          reaction.down = (Date.now() - loadEnded) / 1000;
          process.stderr.write(
            `[cluster] catalog HPA: more replicas ${reaction.up.toFixed(0)} s after the load began, back to one ${reaction.down.toFixed(0)} s after it ended\n`,
          );
        } finally {
          clearInterval(ticker);
          watcher.stop();
          writeFileSync(
            artifactPath('local-cluster-scale.jsonl'),
            samples.map((s) => JSON.stringify(s)).join('\n'),
          );
        }
        const replicas = samples.map((s) => s.hpas.find((h) => h.name === 'catalog')?.current ?? 0);
        assert.ok(Math.max(...replicas) > 1);
        const events = samples.flatMap((s) => s.events).filter((e) => e.object.includes('catalog'));
        assert.ok(
          events.some((e) => e.reason === 'SuccessfulRescale'),
          JSON.stringify(events.slice(-5)),
        );
      },
    );
    it(
      'when the cluster goes down, then nothing it made is left: no process, bridge, namespace, rule, route, mount or cgroup',
      { timeout: 300_000 },
      async () => {
        if (process.env['MELA_KEEP_CLUSTER'] === 'true') return;
        await edge?.stop();
        edge = undefined;
        await clusterDown();
        const sh = (command: string) =>
          spawnSync('sh', ['-c', command], { encoding: 'utf8' }).stdout;
        assert.equal(sh('ip -o link show | grep -E "mela0|mela-data0" || true'), '');
        assert.equal(sh('ip netns list | grep -E "mela-data|cni-" || true'), '');
        assert.equal(sh('ip route | grep -E "10\\.244\\.|10\\.96\\." || true'), '');
        assert.equal(sh('iptables-save | grep -E "^:(KUBE-|MELA-)" || true'), '');
        assert.equal(sh('ipset list -n 2>/dev/null | grep -i kube || true'), '');
        assert.equal(
          sh(
            `grep -E "${join(repoRoot, '.mela')}|/run/mela-containerd|/run/netns/cni-" /proc/self/mountinfo || true`,
          ),
          '',
        );
        assert.equal(sh('ls -d /sys/fs/cgroup/*/kubepods 2>/dev/null || true'), '');
        for (const [key, value] of Object.entries(sysctlsBefore))
          assert.equal(readFileSync(`/proc/sys/${key}`, 'utf8').trim(), value, key);
        // Each of the cluster's processes names its data folder, containerd's socket or the data
        // host in its arguments (other tests' control planes run from temporary folders).
        assert.equal(
          sh(
            `ps -eo args | grep -E "${join(stateDir, 'data/cluster')}|mela-containerd|mela-data|cli.js mailbox|10\\.244\\.0\\.250" | grep -v grep || true`,
          ),
          '',
        );
      },
    );
  },
);
