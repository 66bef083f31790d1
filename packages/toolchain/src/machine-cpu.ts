import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
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
export const jitGroup = (group: string) => `${group}: compiling its code (JIT)`;

/** The group of every process `ProcessGroups` does not name. */
export const otherProcesses = 'everything else';

/** `[pid, label]` for each pid known (for a `ProcessGroups` that names pids). */
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
    const command = programOf(entry, found.command);
    const group = groups(Number(entry), command) ?? otherProcesses;
    let { ms } = found;
    if (command === 'java') {
      // A young JVM compiles its hot code on threads of its own (C1, C2): a one-off of a
      // freshly started server, counted apart from its work.
      const compiling = jitThreadsMs(entry);
      processes.set(`${entry}/jit`, { group: jitGroup(group), ms: compiling });
      ms -= compiling;
    }
    processes.set(entry, { group, ms });
  }
  return { totalMs, processes };
}

/**
 * A process's program: its command name, except that Node 24 (Node 20 does not) names its main thread
 * "MainThread", which is then the name the kernel gives the process; its executable says
 * `node`. (Not the executable always: Debian's redis-server, for one, is a link to another.)
 */
function programOf(pid: string, command: string): string {
  if (command !== 'MainThread') return command;
  try {
    return basename(readlinkSync(`/proc/${pid}/exe`));
  } catch {
    return command; // gone since the listing
  }
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
