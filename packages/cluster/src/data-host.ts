import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { localTopology, type LocalTopology } from '@mela/topology';
import { ensureKafkaJars } from '@mela/devstack';
import {
  isListening,
  paths,
  repoRoot,
  run,
  runningPid,
  startDetached,
  stopProcess,
  until,
} from '@mela/toolchain';
import { quiet, type NodeNetwork } from './host-network.js';

/**
 * The local cluster's data host: a network namespace on the node's bridge, at an address the
 * pods' IPAM never hands out, where local mode's own servers run — Redis, the MariaDB shards,
 * Kafka (`npm run deps`'s code, bound to this address) and the dev mailbox — the way managed
 * databases sit outside a cluster. Being another host on the pods' network, what pods send it
 * passes the node's NetworkPolicy enforcement like traffic between pods. It has no default
 * route: nothing it runs can reach beyond this machine.
 */
export interface DataHost {
  readonly netns: string;
  readonly address: string;
  readonly topology: LocalTopology;
  /** Where its servers keep data, logs and pids (and the mailbox its emails). */
  readonly stateDir: string;
}

export function dataHost(address: string): DataHost {
  return {
    netns: 'mela-data',
    address,
    topology: localTopology({ ...process.env, MELA_HOST: address }),
    stateDir: paths.data('cluster-data-host'),
  };
}

const cli = join(repoRoot, 'packages/cli/dist/src/cli.js');

function env(host: DataHost): NodeJS.ProcessEnv {
  return {
    ...process.env,
    MELA_HOST: host.address,
    MELA_STATE_DIR: host.stateDir,
    // Downloads (Kafka's jars) are shared with local mode.
    MELA_CACHE_DIR: paths.cache(''),
  };
}

/** The host-side end of the data host's veth, on the bridge. */
const hostVeth = 'mela-data0';

/** Makes the namespace and its link (if missing), then starts its servers (if not running). */
export async function dataHostUp(net: NodeNetwork, host: DataHost): Promise<void> {
  if (!quiet('ip', ['netns', 'exec', host.netns, 'true'])) {
    run('ip', ['netns', 'add', host.netns]);
  }
  if (!quiet('ip', ['link', 'show', hostVeth])) {
    run('ip', [
      'link',
      'add',
      hostVeth,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      host.netns,
    ]);
  }
  run('ip', ['link', 'set', hostVeth, 'master', net.bridge, 'up']);
  const inside = (args: string[]) => run('ip', ['netns', 'exec', host.netns, ...args]);
  const prefix = net.podCidr.split('/')[1] ?? '24';
  if (!inside(['ip', '-4', 'addr', 'show', 'dev', 'eth0']).includes(`${host.address}/`)) {
    inside(['ip', 'addr', 'add', `${host.address}/${prefix}`, 'dev', 'eth0']);
  }
  inside(['ip', 'link', 'set', 'lo', 'up']);
  inside(['ip', 'link', 'set', 'eth0', 'up']);
  // What needs the network is fetched here first: the namespace has none.
  ensureKafkaJars();
  run('ip', ['netns', 'exec', host.netns, process.execPath, cli, 'deps', 'up'], { env: env(host) });
  const mailbox = 'cluster-data-mailbox';
  if (runningPid(mailbox) === undefined) {
    startDetached(mailbox, 'ip', ['netns', 'exec', host.netns, process.execPath, cli, 'mailbox'], {
      env: env(host),
    });
  }
  await until(
    () => isListening(host.topology.mailbox.smtpPort, host.address),
    'the data host’s mailbox',
    20_000,
    { logFile: paths.log(mailbox) },
  );
}

/** Stops its servers and removes the namespace and its link. */
export async function dataHostDown(host: DataHost): Promise<void> {
  await stopProcess('cluster-data-mailbox');
  if (quiet('ip', ['netns', 'exec', host.netns, 'true'])) {
    spawnSync(process.execPath, [cli, 'deps', 'down'], { env: env(host), stdio: 'ignore' });
  }
  quiet('ip', ['link', 'del', hostVeth]);
  quiet('ip', ['netns', 'delete', host.netns]);
}
