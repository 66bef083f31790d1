import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cpuPerUnit,
  machineCpu,
  machineGroup,
  pidsOf,
  type MachineCpu,
} from '../src/machine-cpu.js';

const reading = (totalMs: number, processes: [string, string, number][]): MachineCpu => ({
  totalMs,
  processes: new Map(processes.map(([key, group, ms]) => [key, { group, ms }])),
});

describe('the machine’s CPU per unit of work', () => {
  it('sums each group’s processes, counts a new one whole and leaves out one that exited', () => {
    const before = reading(10_000, [
      ['1', 'MariaDB', 500],
      ['2', 'MariaDB', 300],
      ['3', 'gone', 900],
    ]);
    const after = reading(12_000, [
      ['1', 'MariaDB', 700],
      ['2', 'MariaDB', 400],
      ['4', 'new', 100],
    ]);
    assert.deepEqual(Object.fromEntries(cpuPerUnit(before, after, 100)), {
      MariaDB: 3,
      new: 1,
      [machineGroup]: 20,
    });
  });

  it('reads this process from /proc under the name it is given, its CPU as it spent it', () => {
    const named = new Map(pidsOf([process.pid, undefined], 'this test'));
    const groups = (pid: number) => named.get(pid);
    const before = machineCpu(groups);
    const start = process.cpuUsage();
    // 300 ms of CPU, as this process counts it itself.
    while (process.cpuUsage(start).user < 300_000) Math.sqrt(Math.random());
    const spent = cpuPerUnit(before, machineCpu(groups), 1);
    const mine = spent.get('this test') ?? 0;
    // /proc counts in 10 ms ticks.
    assert.ok(mine >= 280, `this process spent ${String(mine)} ms by /proc`);
    assert.ok((spent.get(machineGroup) ?? 0) >= mine - 20, 'the machine was at least as busy');
  });

  it('names a Node process by its program, node, though Node names its main thread MainThread', () => {
    const reading = machineCpu((pid, command) => (pid === process.pid ? command : undefined));
    assert.equal(reading.processes.get(String(process.pid))?.group, 'node');
  });
});
