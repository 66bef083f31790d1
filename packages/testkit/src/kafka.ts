import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareKafkaNode } from '@mela/devstack';
import { deadPorts } from './network.js';
import { ownServer } from './own-server.js';
import { isListening, stopChild } from '@mela/toolchain';
import { until } from './wait.js';

/** A real Kafka broker of the test's own, which the test may stop and start again. */
export interface OwnKafka {
  readonly brokers: string[];
  /** SIGKILL: the broker vanishes as in a crash (its log stays for the restart). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it for good and removes its files. */
  stop(): Promise<void>;
}

/**
 * Starts a private single-node KRaft broker — the devstack's, on free ports and a temporary
 * directory — for tests that take Kafka down without disturbing the shared one.
 */
export async function startOwnKafka(): Promise<OwnKafka> {
  const [port = 0, controllerPort = 0] = await deadPorts(2);
  const dir = mkdtempSync(join(tmpdir(), 'mela-kafka-'));
  const node = prepareKafkaNode({
    host: '127.0.0.1',
    port,
    controllerPort,
    dataDir: join(dir, 'data'),
    configDir: dir,
    heap: { min: '128m', max: '384m' },
  });
  node.format();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('java', [...node.command], { stdio: 'ignore' });
    const running = child;
    await until(
      async () => {
        if (running.exitCode !== null)
          throw new Error(`kafka exited with ${String(running.exitCode)}`);
        return isListening(port);
      },
      'the test Kafka broker to listen',
      60_000,
    );
  };
  const kill = () => stopChild(child, 'SIGKILL');
  const stop = await ownServer(dir, kill, start);
  return { brokers: [`127.0.0.1:${String(port)}`], kill, start, stop };
}
