import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { run } from '@mela/toolchain';
import { localClusterNetwork, type LocalClusterNetwork } from '@mela/topology';

/**
 * The node's network (see `localClusterNetwork`): the bridge, its address, the service range
 * routed to it (so a ClusterIP with no rule behind it can never leave by the default route),
 * and a FORWARD guard that drops whatever a pod sends anywhere but the bridge — pods reach
 * each other, the data host and this host, nothing else.
 */
export type NodeNetwork = LocalClusterNetwork;
export const nodeNetwork: NodeNetwork = localClusterNetwork;

/** The metric of the unreachable routes under the cluster's own (which have metric 0). */
const unreachableMetric = 4242;

/** The iptables chain (filter table, FORWARD) of the guard above. */
const guardChain = 'MELA-CLUSTER-GUARD';

/** Kernel settings the kubelet and the bridge plugin change, restored when the cluster goes. */
export const touchedSysctls = [
  'net/ipv4/ip_forward',
  'net/bridge/bridge-nf-call-iptables',
  'vm/overcommit_memory',
  'kernel/panic',
  'kernel/panic_on_oops',
] as const;

export function readSysctls(): Record<string, string> {
  return Object.fromEntries(
    touchedSysctls
      .filter((key) => existsSync(`/proc/sys/${key}`))
      .map((key) => [key, readFileSync(`/proc/sys/${key}`, 'utf8').trim()]),
  );
}

export function writeSysctls(values: Readonly<Record<string, string>>): void {
  for (const [key, value] of Object.entries(values)) {
    try {
      writeFileSync(`/proc/sys/${key}`, `${value}\n`);
    } catch {
      // A read-only key here is one nobody could have changed either.
    }
  }
}

/** Runs a command for its exit status alone. */
export const quiet = (command: string, args: readonly string[]) =>
  spawnSync(command, args, { stdio: 'ignore' }).status === 0;

export function bridgeExists(net: NodeNetwork): boolean {
  return quiet('ip', ['link', 'show', net.bridge]);
}

/** Creates the bridge, its address, the service route and the guard (each only if missing). */
export function createNodeNetwork(net: NodeNetwork): void {
  const prefix = net.podCidr.split('/')[1] ?? '24';
  // First, and removed last: should the bridge go while something still talks to the cluster's
  // addresses, their packets are refused here instead of taking the default route.
  for (const cidr of [net.podCidr, net.serviceCidr]) {
    run('ip', ['route', 'replace', 'unreachable', cidr, 'metric', String(unreachableMetric)]);
  }
  if (!bridgeExists(net)) {
    run('ip', ['link', 'add', net.bridge, 'type', 'bridge']);
  }
  if (!run('ip', ['-4', 'addr', 'show', 'dev', net.bridge]).includes(`${net.nodeIp}/`)) {
    run('ip', ['addr', 'add', `${net.nodeIp}/${prefix}`, 'dev', net.bridge]);
  }
  run('ip', ['link', 'set', net.bridge, 'up']);
  run('ip', ['route', 'replace', net.serviceCidr, 'dev', net.bridge, 'src', net.nodeIp]);
  if (!quiet('iptables', ['-w', '-t', 'filter', '-L', guardChain, '-n'])) {
    run('iptables', ['-w', '-t', 'filter', '-N', guardChain]);
    // Between pods on the bridge: allowed (NetworkPolicies decide); anything else a pod sends
    // through this host to another interface: dropped.
    run('iptables', ['-w', '-A', guardChain, '-i', net.bridge, '-o', net.bridge, '-j', 'RETURN']);
    run('iptables', ['-w', '-A', guardChain, '-i', net.bridge, '-j', 'DROP']);
    run('iptables', ['-w', '-A', guardChain, '-s', net.podCidr, '-j', 'DROP']);
  }
  if (!quiet('iptables', ['-w', '-C', 'FORWARD', '-j', guardChain])) {
    run('iptables', ['-w', '-I', 'FORWARD', '1', '-j', guardChain]);
  }
}

/** Removes what createNodeNetwork made. */
export function removeNodeNetwork(net: NodeNetwork): void {
  while (quiet('iptables', ['-w', '-D', 'FORWARD', '-j', guardChain])) {
    // every jump, if it was added more than once
  }
  if (quiet('iptables', ['-w', '-L', guardChain, '-n'])) {
    run('iptables', ['-w', '-F', guardChain]);
    run('iptables', ['-w', '-X', guardChain]);
  }
  quiet('ip', ['route', 'del', net.serviceCidr, 'dev', net.bridge]);
  if (bridgeExists(net)) run('ip', ['link', 'del', net.bridge]);
}

/** Removes the unreachable routes: only when nothing of the cluster runs any more. */
export function removeUnreachableRoutes(net: NodeNetwork): void {
  for (const cidr of [net.podCidr, net.serviceCidr]) {
    quiet('ip', ['route', 'del', 'unreachable', cidr, 'metric', String(unreachableMetric)]);
  }
}

/**
 * What kube-proxy's `--cleanup` leaves: the kubelet-era KUBE-FIREWALL chain (IPv4 and IPv6)
 * and the jumps to it from INPUT and OUTPUT.
 */
export function removeKubeFirewall(): void {
  for (const tool of ['iptables', 'ip6tables']) {
    for (const chain of ['INPUT', 'OUTPUT']) {
      while (quiet(tool, ['-w', '-D', chain, '-j', 'KUBE-FIREWALL'])) {
        // every jump
      }
    }
    if (quiet(tool, ['-w', '-L', 'KUBE-FIREWALL', '-n'])) {
      quiet(tool, ['-w', '-F', 'KUBE-FIREWALL']);
      quiet(tool, ['-w', '-X', 'KUBE-FIREWALL']);
    }
  }
}

/** The network namespaces of this machine (`ip netns`), by name. */
export function netnsNames(): string[] {
  const out = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name !== '');
}

export function deleteNetns(name: string): void {
  quiet('ip', ['netns', 'delete', name]);
}

/**
 * What kube-router's policy controller leaves (its own `--cleanup-config` panics here, in the
 * service proxy's IPVS cleanup, before reaching the firewall's): the jumps from INPUT, FORWARD
 * and OUTPUT, its filter chains (`KUBE-ROUTER-*`, per-policy `KUBE-NWPLCY-*`, per-pod
 * `KUBE-POD-FW-*`) and its ipsets (`KUBE-SRC-*`, `KUBE-DST-*`).
 */
export function removeKubeRouterPolicies(): void {
  const saved = spawnSync('iptables-save', ['-t', 'filter'], { encoding: 'utf8' }).stdout;
  const ours = /^(KUBE-ROUTER-|KUBE-NWPLCY-|KUBE-POD-FW-)/;
  for (const line of saved.split('\n')) {
    const jump = /^-A (INPUT|FORWARD|OUTPUT) (.*-j (KUBE-ROUTER-\S+))$/.exec(line);
    if (jump?.[1] !== undefined && jump[2] !== undefined) {
      // The rule as iptables-save printed it, deleted by its specification.
      spawnSync('sh', ['-c', `iptables -w -t filter -D ${jump[1]} ${jump[2]}`], {
        stdio: 'ignore',
      });
    }
  }
  const chains = saved
    .split('\n')
    .flatMap((line) => (line.startsWith(':') ? [line.slice(1).split(' ')[0] ?? ''] : []))
    .filter((chain) => ours.test(chain));
  for (const chain of chains) quiet('iptables', ['-w', '-t', 'filter', '-F', chain]);
  for (const chain of chains) quiet('iptables', ['-w', '-t', 'filter', '-X', chain]);
  const sets = spawnSync('ipset', ['list', '-n'], { encoding: 'utf8' }).stdout;
  for (const set of sets.split('\n').filter((name) => /^KUBE-(SRC|DST)-/.test(name))) {
    quiet('ipset', ['destroy', set]);
  }
}
