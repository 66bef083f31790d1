import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { cpuPerUnit, machineCpu, machineGroup, type ProcessGroups } from '@mela/toolchain';

/** Where this machine's cores went while some work was done, per unit of it. */
export interface MachineShare {
  readonly seconds: number;
  readonly cores: number;
  /** The share of every core's time that was busy (0–1). */
  readonly busy: number;
  /**
   * Milliseconds of CPU per unit, by process group, largest first; the whole machine (every
   * core's busy time, the kernel's too) last.
   */
  readonly perUnitMs: readonly (readonly [group: string, ms: number])[];
}

/** The group of the load driver itself. */
const driverGroup = 'the load driver (this command)';

/**
 * The processes of a shop on this machine, by what they are: each of Mela's services (every
 * replica together, known by its `services/<name>/dist` entry point), nginx, the data servers,
 * this driver; anything else is left to `machineCpu`'s "everything else".
 */
export function shopGroups(driverPid: number): ProcessGroups {
  const byCommand: Readonly<Record<string, string>> = {
    nginx: 'nginx (the edge)',
    mariadbd: 'MariaDB',
    'redis-server': 'Redis',
    java: 'Kafka',
    prometheus: 'Prometheus',
  };
  return (pid, command) => {
    if (pid === driverPid) return driverGroup;
    if (command === 'node') return nodeGroup(pid);
    if (command.startsWith('jaeger')) return 'Jaeger';
    return byCommand[command];
  };
}

function nodeGroup(pid: number): string {
  let commandLine: string;
  try {
    commandLine = readFileSync(`/proc/${String(pid)}/cmdline`, 'utf8');
  } catch {
    return 'other Node processes'; // gone since the listing
  }
  const service = /services\/([a-z-]+)\/dist\/src\/main\.js/.exec(commandLine)?.[1];
  return service ? `${service} service` : 'other Node processes';
}

/** Reads the machine now; `done(units)` reads it again and says what the units cost it. */
export function watchMachine(groups: ProcessGroups): { done: (units: number) => MachineShare } {
  const before = machineCpu(groups);
  const start = performance.now();
  return {
    done: (units) => {
      const after = machineCpu(groups);
      const seconds = (performance.now() - start) / 1000;
      const cores = cpus().length;
      const spent = cpuPerUnit(before, after, units);
      const machineMs = spent.get(machineGroup) ?? 0;
      spent.delete(machineGroup);
      const busyMs = after.totalMs - before.totalMs;
      return {
        seconds,
        cores,
        busy: seconds > 0 ? Math.min(1, busyMs / (seconds * 1000 * cores)) : 0,
        perUnitMs: [
          ...[...spent].sort(([, a], [, b]) => b - a),
          [machineGroup, machineMs] as const,
        ],
      };
    },
  };
}

/**
 * Whether the processes serving `url` can be read here: it is a loopback address, and this is
 * Linux (the figures come from `/proc`).
 */
export function readableHere(url: string): boolean {
  const host = new URL(url).hostname;
  const loopback = host === 'localhost' || host === '[::1]' || /^127\./.test(host);
  return loopback && process.platform === 'linux';
}
