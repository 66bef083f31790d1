#!/usr/bin/env node
import { clusterDown, clusterPurge, clusterStatus, clusterUp } from './node-cluster.js';

const usage = `usage: npm run cluster:local -- up|down|status|purge

  up      a real single-node cluster here (root): etcd, kube-apiserver, controller-manager,
          scheduler, containerd + runc, kubelet, kube-proxy (iptables), a CNI bridge on
          10.244.0.0/24, CoreDNS, kube-router's NetworkPolicy controller, metrics-server; Mela's image built
          from the Dockerfile and loaded into the node
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
