#!/usr/bin/env node
import { untilSignal } from '@mela/toolchain';
import { defaultClusterEdgePort, startClusterEdge } from './edge.js';
import {
  clusterDown,
  clusterPurge,
  clusterStatus,
  clusterUp,
  runningCluster,
} from './node-cluster.js';

const usage = `usage: npm run cluster:local -- up|edge|down|status|purge

  up      a real single-node cluster here (root): etcd, kube-apiserver, controller-manager,
          scheduler, containerd + runc, kubelet, kube-proxy (iptables), a CNI bridge on
          10.244.0.0/24, CoreDNS, kube-router's NetworkPolicy controller, metrics-server; Mela's image built
          from the Dockerfile and loaded into the node
  edge    Mela's nginx edge on 127.0.0.1:${String(defaultClusterEdgePort)} (MELA_CLUSTER_EDGE_PORT) in front of the
          cluster's Services: the storefront and the API, until Ctrl-C
  down    stop it and remove what it made (pods, rules, mounts, cgroups, the bridge)
  status  its processes
  purge   down, and delete its data (etcd, images, certificates)`;

async function main(action: string | undefined): Promise<number> {
  switch (action) {
    case 'up': {
      const started = Date.now();
      const cluster = await clusterUp();
      process.stdout.write(
        [
          `the local cluster is up in ${((Date.now() - started) / 1000).toFixed(0)} s`,
          `  kubeconfig  ${cluster.kubeconfig}`,
          `  kubectl     ${cluster.binaries.kubectl} --kubeconfig ${cluster.kubeconfig} get pods -A`,
          '',
        ].join('\n'),
      );
      return 0;
    }
    case 'edge': {
      const cluster = runningCluster();
      if (cluster === undefined)
        throw new Error('the local cluster is not running: npm run cluster:local -- up');
      const port = Number(process.env['MELA_CLUSTER_EDGE_PORT'] ?? defaultClusterEdgePort);
      const edge = await startClusterEdge(cluster, { port });
      process.stdout.write(
        `the shop on the local cluster: ${edge.url}/ (API ${edge.url}/api/catalog/products); Ctrl-C stops the edge\n`,
      );
      await untilSignal();
      await edge.stop();
      return 0;
    }
    case 'down':
      await clusterDown();
      return 0;
    case 'purge':
      await clusterPurge();
      return 0;
    case 'status':
      for (const { name, pid } of clusterStatus()) {
        process.stdout.write(
          `${pid === undefined ? 'down' : 'up  '}  ${name.padEnd(32)}${pid === undefined ? '' : ` pid ${String(pid)}`}\n`,
        );
      }
      return 0;
    default:
      process.stderr.write(`${usage}\n`);
      return action === undefined || action === 'help' ? 0 : 2;
  }
}

main(process.argv[2]).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`[mela] ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
