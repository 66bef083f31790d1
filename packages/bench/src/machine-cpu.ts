import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

/**
 * The whole machine's CPU, split by process: what a piece of work costs every server on the
 * box, not only the one under test. Linux only (/proc); each figure in milliseconds.
 */
export interface MachineCpu {
  /** Busy time of every core (user, nice, system, irq), from the kernel's own totals. */
  readonly totalMs: number;
  /**
   * Each process's group and its user + system time so far, by pid (a JVM's compiler threads
   * apart, under `<pid>/jit`).
   */
  readonly processes: ReadonlyMap<string, { readonly group: string; readonly ms: number }>;
}

/** Names a process: a label for a known pid, else by its command name, else undefined. */
export type ProcessGroups = (pid: number, command: string) => string | undefined;

/** The group a JVM's JIT compiler threads are counted in, apart from `group`'s work. */
const jitOf = (group: string) => `${group}: compiling its code (JIT)`;

/** The order service's bench's process groups, in the order its table shows them. */
export const benchGroups = {
  order: 'order service',
  notification: 'notification service',
  mariadb: 'MariaDB (every shard)',
  kafka: 'Kafka',
  kafkaJit: jitOf('Kafka'),
  redis: 'Redis',
  catalogAndCart: 'catalog and cart',
  bench: 'the bench (its load)',
  node: 'other Node processes',
  rest: 'everything else',
} as const;

/**
 * Process groups for the bench: the pids named, then MariaDB, Redis, Kafka (the JVM) and any
 * other Node process by their command names; everything else together.
 */
export function groupsOf(named: ReadonlyMap<number, string>): ProcessGroups {
  const byCommand: Readonly<Record<string, string>> = {
    mariadbd: benchGroups.mariadb,
    'redis-server': benchGroups.redis,
    java: benchGroups.kafka,
    node: benchGroups.node,
  };
  return (pid, command) => named.get(pid) ?? byCommand[command];
}

/** `[pid, label]` for each pid known (for `groupsOf`). */
export function pidsOf(pids: readonly (number | undefined)[], label: string): [number, string][] {
  return pids.flatMap((pid) => (pid === undefined ? [] : [[pid, label]]));
}

/** Clock ticks per second of /proc/<pid>/stat's times: USER_HZ, 100 on every Linux ABI. */
const ticksPerSecond = 100;

export function machineCpu(groups: ProcessGroups): MachineCpu {
  const totalMs = cpus().reduce(
    (sum, { times }) => sum + times.user + times.nice + times.sys + times.irq,
    0,
  );
  const processes = new Map<string, { group: string; ms: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const found = cpuOf(`/proc/${entry}/stat`);
    if (!found) continue; // gone since the listing
    const group = groups(Number(entry), found.command) ?? benchGroups.rest;
    let { ms } = found;
    if (found.command === 'java') {
      // A young JVM compiles its hot code on threads of its own (C1, C2): a one-off of a
      // freshly started server, counted apart from its work.
      const compiling = jitThreadsMs(entry);
      processes.set(`${entry}/jit`, { group: jitOf(group), ms: compiling });
      ms -= compiling;
    }
    processes.set(entry, { group, ms });
  }
  return { totalMs, processes };
}

/** A process's or thread's command name and user + system time so far, from its stat file. */
function cpuOf(statFile: string): { readonly command: string; readonly ms: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(statFile, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (command) state ppid …": the command may hold spaces or parentheses.
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the command.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { command: stat.slice(stat.indexOf('(') + 1, close), ms: (ticks * 1000) / ticksPerSecond };
}

/** The CPU a JVM's JIT compiler threads (C1 and C2, named "C1 CompilerThread0" …) have spent. */
function jitThreadsMs(pid: string): number {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  return tasks.reduce((sum, task) => {
    const thread = cpuOf(`/proc/${pid}/task/${task}/stat`);
    return thread && /^C[12] CompilerThre/.test(thread.command) ? sum + thread.ms : sum;
  }, 0);
}

/**
 * What the machine spent between two readings, per unit of work done (`count`): each group's
 * ms, and `machine` (every core's busy time, the processes' and the kernel's). A process that
 * exited in between is missing from the groups but counted in `machine`.
 */
export function cpuPerUnit(
  before: MachineCpu,
  after: MachineCpu,
  count: number,
): Map<string, number> {
  const per = new Map<string, number>();
  const units = Math.max(1, count);
  for (const [key, { group, ms }] of after.processes) {
    // A process that started in between counts whole.
    const spent = ms - (before.processes.get(key)?.ms ?? 0);
    if (spent > 0) per.set(group, (per.get(group) ?? 0) + spent / units);
  }
  per.set(machineGroup, (after.totalMs - before.totalMs) / units);
  return per;
}

/** The key of the whole machine's busy time in `cpuPerUnit`'s result. */
export const machineGroup = 'the machine (every core)';
