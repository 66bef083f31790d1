#!/usr/bin/env node
import { spawn } from 'node:child_process';
import { globSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { kindClusterDown, kindClusterUp } from '@mela/cluster';
import { asksForHelp } from '@mela/core';
import {
  depsDown,
  depsStatus,
  depsUp,
  localSecrets,
  migrateAll,
  seedCatalog,
  serviceEnvironment,
  startLocalPrometheus,
  startMailbox,
  startServices,
  jaegerUrl,
} from '@mela/devstack';
import { startLocalEdge } from '@mela/edge';
import {
  ensureCrds,
  ensureHelm,
  ensureKubeBinaries,
  ensureKwok,
  ensureSystemPackages,
  progress,
  repoRoot,
  run,
  untilSignal,
  type SystemRequirement,
} from '@mela/toolchain';
import { localTopology, serviceNames } from '@mela/topology';
import { testNeeds, type TestNeeds } from './test-needs.js';
import { testRunnerArgs } from './test-runner.js';

const usage = `usage: mela <command>

  deps up        install (apt, Maven Central) and start Redis, the MariaDB shards and Kafka
  deps down      stop them
  deps status    show what runs where
  deps migrate   (also: migrate)        apply each keyspace's migrations to all of its shards
  test [files]   deps up + migrate, then run the test suites (node:test)
  test-k8s       the cdk8s app's tests, manifests applied to a real kube-apiserver
  capacity       the capacity model for --requests-per-day N --peak-factor F; writes the bbd environment
  synth          render every environment's Kubernetes manifests into charts/ (the cdk8s app)
  load           drive the running shop: --scenario flash-sale|shop [--peak N] (npm start first)
  drill          fault drills against the running shop: each part (mail relay, Kafka, the Redis
                 servers, a customer shard, an order replica) stopped under shopping and brought
                 back; what shoppers saw, lost/duplicated/oversold orders (npm start first)
  shard …        the sharding operator CLI (keyspace-id, which, reshard, drop-old; see docs/sharding.md)
  dlq list|replay  the notification dead letters of the running shop: list them, or send them
                 back to the orders topic (each still has its effect once)
  cluster up     a kind cluster (infra/kind.yaml) with the pinned operators (needs Docker, kind, Helm);
                 --vitess adds the Vitess operator for charts/dev-vitess
  cluster down   delete it
  cluster-local  a real single-node cluster here (up|down|status|purge; root, no Docker)
  cluster sim    a simulated cluster here (control plane + kwok nodes) whose HPAs follow npm start's load
  scale-watch    live table of the HPAs, Deployments, pods and scaling events (--record FILE)
  scale-report   chart + summary from scale-watch's and load's records (--watch F --load F --out DIR)
  mailbox        the dev mailbox alone (SMTP + webhooks, as npm start runs it) until SIGTERM
  image          build Mela's image from the Dockerfile with buildah (no Docker, no registry)
  import-crds    regenerate infra/imports from the operators' pinned CRDs (cdk8s import)
  start          deps up + migrate + seed, then the services (2 replicas each) behind nginx until Ctrl-C
  bench [--smoke] deps up + migrate + seed, then the benchmarks (packages/bench)`;

/** Test files: every compiled `*.test.js` of the workspaces, or the ones given. */
function testFiles(selected: readonly string[]): string[] {
  if (selected.length > 0) return [...selected];
  return globSync(
    [
      'packages/*/dist/test/**/*.test.js',
      'services/*/dist/test/**/*.test.js',
      'infra/dist/test/**/*.test.js',
    ],
    { cwd: repoRoot },
  ).sort();
}

/**
 * Installs and starts what `files` need, and nothing more: `npm test` with no files needs
 * everything; `npm test -- packages/sharding/dist/test/vindexes.test.js` needs nothing.
 */
async function prepareFor(files: readonly string[]): Promise<void> {
  const needs = files.map(testNeeds);
  const any = (need: keyof TestNeeds) => needs.some((n) => n[need]);
  if (any('kube')) {
    ensureKubeBinaries();
    ensureHelm();
    ensureCrds();
  }
  const requirements: SystemRequirement[] = [
    ...(any('promtool') ? [{ command: 'promtool', aptPackage: 'prometheus' }] : []),
    ...(any('browser')
      ? [
          { command: 'chromium', aptPackage: 'chromium' },
          {
            file: '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
            aptPackage: 'fonts-dejavu-core',
          },
        ]
      : []),
  ];
  if (any('servers')) {
    await depsUp(undefined, requirements);
    await migrateAll();
  } else {
    ensureSystemPackages(requirements);
  }
}

/** Runs node with `args` in the foreground and resolves with its exit code. */
function runNode(args: readonly string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      stdio: 'inherit',
      env: { ...process.env, ...env },
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

function runTests(
  files: readonly string[],
  // Two files at a time: the system tests each run a shop of several processes (and one a
  // control plane); on a two-core machine more at once only trades time for timing flakes.
  concurrency = process.env['MELA_TEST_CONCURRENCY'] ?? '2',
): Promise<number> {
  return runNode(testRunnerArgs(files, concurrency), { NODE_ENV: 'test' });
}

async function printStatus(): Promise<void> {
  for (const s of await depsStatus()) {
    process.stdout.write(
      `${s.running ? 'up  ' : 'down'}  ${s.name.padEnd(22)} ${s.endpoint}${s.pid ? `  (pid ${s.pid})` : ''}\n`,
    );
  }
}

async function main(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case 'deps': {
      const [action] = rest;
      if (action === 'up') {
        await depsUp();
        await printStatus();
      } else if (action === 'down') await depsDown();
      else if (action === 'migrate') await migrateAll();
      else if (action === 'status') await printStatus();
      else {
        process.stderr.write(`${usage}\n`);
        return 2;
      }
      return 0;
    }
    case 'migrate':
      await migrateAll();
      return 0;
    case 'test': {
      const files = testFiles(rest).map((f) => relative(repoRoot, f) || f);
      await prepareFor(files);
      // The real cluster's test first and alone: it loads both cores for minutes and changes
      // the machine's network (bridges, iptables), which no other test should run beside.
      const alone = files.filter((f) => f.startsWith('packages/cluster/'));
      const others = files.filter((f) => !alone.includes(f));
      progress(`running ${String(files.length)} test files`);
      const clusterCode = alone.length > 0 ? await runTests(alone, '1') : 0;
      const code = others.length > 0 ? await runTests(others) : 0;
      return clusterCode !== 0 ? clusterCode : code;
    }
    case 'test-k8s': {
      ensureKubeBinaries();
      ensureHelm();
      ensureCrds();
      const files = globSync('infra/dist/test/**/*.test.js', { cwd: repoRoot }).sort();
      progress(`running ${files.length} test files against a real kube-apiserver`);
      return runTests(rest.length > 0 ? rest : files);
    }
    case 'cluster': {
      const [action] = rest;
      if (action === 'up') kindClusterUp({ vitess: rest.includes('--vitess') });
      else if (action === 'down') kindClusterDown();
      else if (action === 'sim') {
        // The simulated cluster: the control plane's binaries and kwok, built once.
        ensureKubeBinaries();
        ensureKwok();
        const topology = localTopology();
        return runNode([join(repoRoot, 'packages/scaling/dist/src/sim.cli.js'), ...rest.slice(1)], {
          MELA_PROMETHEUS_PORT: String(topology.prometheus.port),
        });
      } else {
        process.stderr.write(`${usage}\n`);
        return 2;
      }
      return 0;
    }
    case 'import-crds': {
      // TypeScript classes for the operators' resources, generated by `cdk8s import` from the
      // pinned CRDs into infra/imports (committed, so building needs no network).
      // One import per API group (cdk8s writes a file per group), from all of the group's CRDs.
      const cdk8s = join(repoRoot, 'node_modules/.bin/cdk8s');
      const groups = new Map<string, string[]>();
      for (const file of ensureCrds()) {
        const group = basename(file).split('_')[0] ?? file;
        groups.set(group, [...(groups.get(group) ?? []), readFileSync(file, 'utf8')]);
      }
      const dir = mkdtempSync(join(tmpdir(), 'mela-crds-'));
      for (const [group, crds] of groups) {
        const combined = join(dir, `${group}.yaml`);
        writeFileSync(combined, crds.map((crd) => crd.replace(/^---\n/, '')).join('\n---\n'));
        progress(`cdk8s import ${group} (${String(crds.length)} CRDs) into infra/imports`);
        run(
          cdk8s,
          [
            'import',
            '--language',
            'typescript',
            '--output',
            join(repoRoot, 'infra/imports'),
            combined,
          ],
          {
            cwd: repoRoot,
          },
        );
      }
      rmSync(dir, { recursive: true, force: true });
      return 0;
    }
    case 'bench': {
      const topology = localTopology();
      // Its --help needs no servers.
      if (!asksForHelp(rest)) {
        await depsUp();
        await migrateAll();
        progress('loading the demo catalog (skipped when it is there)');
        seedCatalog(topology);
      }
      return runNode(
        [join(repoRoot, 'packages/bench/dist/src/run.js'), ...rest],
        serviceEnvironment(topology, 'catalog'),
      );
    }
    case 'load': {
      // Against the shop `npm start` runs; tokens are signed with its dev secret.
      const topology = localTopology();
      // Another shop's signing secret (the local cluster's), when given, wins over npm start's.
      const secret = process.env['AUTH_JWT_SECRET'];
      return runNode([join(repoRoot, 'packages/load/dist/src/load.cli.js'), ...rest], {
        ...localSecrets(),
        ...(secret ? { AUTH_JWT_SECRET: secret } : {}),
        MELA_EDGE_PORT: String(topology.edge.port),
      });
    }
    case 'drill': {
      // Against the shop `npm start` runs: its servers, its mailbox, its replicas' pids.
      const topology = localTopology();
      return runNode([join(repoRoot, 'packages/load/dist/src/drill.cli.js'), ...rest], {
        ...localSecrets(),
        MELA_EDGE_PORT: String(topology.edge.port),
      });
    }
    case 'dlq':
      // Against the Kafka `npm start` runs, with the notification service's own settings.
      return runNode(
        [join(repoRoot, 'services/notification/dist/src/dlq.cli.js'), ...rest],
        serviceEnvironment(localTopology(), 'notification'),
      );
    case 'shard':
      return runNode([join(repoRoot, 'packages/sharding/dist/src/cli.js'), ...rest], {});
    case 'cluster-local':
      return runNode([join(repoRoot, 'packages/cluster/dist/src/cli.js'), ...rest], {});
    case 'mailbox': {
      const topology = localTopology();
      const mailbox = await startMailbox(topology);
      progress(
        `mailbox: SMTP ${topology.host}:${String(topology.mailbox.smtpPort)}, HTTP ${topology.host}:${String(topology.mailbox.httpPort)}`,
      );
      await untilSignal();
      await mailbox.close();
      return 0;
    }
    case 'image':
      return runNode([join(repoRoot, 'packages/cluster/dist/src/image.cli.js'), ...rest], {});
    case 'capacity':
      return runNode([join(repoRoot, 'packages/capacity/dist/src/capacity.cli.js'), ...rest], {});
    case 'synth':
      return runNode([join(repoRoot, 'infra/dist/src/synth.cli.js'), ...rest], {});
    case 'scale-watch':
      return runNode([join(repoRoot, 'packages/scaling/dist/src/watch.cli.js'), ...rest], {});
    case 'scale-report':
      return runNode([join(repoRoot, 'packages/scaling/dist/src/report.cli.js'), ...rest], {});
    case 'start': {
      await depsUp();
      await migrateAll();
      const topology = localTopology();
      progress('loading the demo catalog (skipped when it is there)');
      seedCatalog(topology);
      // Whatever started is stopped again, last first, however this ends (Ctrl-C or a failure).
      await using started = new AsyncDisposableStack();
      const mailbox = await startMailbox(topology);
      started.defer(() => mailbox.close());
      const services = await startServices(topology);
      started.defer(() => services.stop());
      // nginx after the replicas are ready: a replica it cannot reach yet would be marked failed
      // (passive health checks) and skipped for 10 s. It checks checkout tokens as the services
      // do, with their variables (the catalog's environment).
      const edge = await startLocalEdge(topology, serviceEnvironment(topology, 'catalog'));
      started.defer(() => edge.stop());
      progress(`edge (nginx) on http://${topology.host}:${String(topology.edge.port)}`);
      const prometheus = await startLocalPrometheus(topology);
      started.defer(() => prometheus.stop());
      progress(
        `Prometheus on ${prometheus.url} (every replica scraped, Mela's rules and alerts loaded)`,
      );
      await printStatus();
      const shop = `http://${topology.host}:${String(topology.edge.port)}`;
      const mail = `http://${topology.host}:${String(topology.mailbox.httpPort)}`;
      const replicas = serviceNames
        .map((name) => `${name} ×${String(topology.services[name].replicas)}`)
        .join(', ');
      process.stdout.write(
        [
          '',
          `Mela is running (${replicas}, behind nginx):`,
          `  storefront ${shop}/`,
          `  products   ${shop}/api/catalog/products?limit=5`,
          `  search     ${shop}/api/catalog/products?q=phone`,
          `  homepage   ${shop}/api/catalog/home`,
          `  cart       ${shop}/api/cart   (with a bearer token)`,
          `  orders     ${shop}/api/orders   (POST with a token and an Idempotency-Key)`,
          `  API docs   ${shop}/api/docs/   (each service's OpenAPI 3.1 document, /openapi.json)`,
          `  mailbox    ${mail}   (emails in .mela/mailbox/*.eml, SMS in .mela/mailbox/sms.log)`,
          `  services   ${Object.entries(services.urls)
            .map(([name, url]) => `${name} ${url}`)
            .join(', ')}   (load balancers; /metrics per replica on port +100, +200)`,
          `  edge log   .mela/edge/${String(topology.edge.port)}/logs/access.log (upstream tried, X-Cache)`,
          `  metrics    ${prometheus.url}/   (Prometheus: the dashboards' queries, ${prometheus.url}/alerts)`,
          `  traces     ${jaegerUrl(topology)}/   (Jaeger: every request's trace, a checkout's down to its email)`,
          '  load       npm run load -- --scenario flash-sale   (in another terminal)',
          '  a token    npm run dev-token -- --user alice --roles user,admin',
          '',
          'Ctrl-C stops the services, nginx and Prometheus; `npm run deps -- down` stops the databases, Redis, Kafka and Jaeger.',
          '',
        ].join('\n'),
      );
      await untilSignal();
      progress('stopping Prometheus, the edge and the services');
      return 0;
    }
    default:
      process.stderr.write(`${usage}\n`);
      return command === undefined || command === 'help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`[mela] ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
