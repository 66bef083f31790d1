import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '@mela/testkit';
import { environments, loadTestApp, melaApp, type Environment } from '../src/index.js';

/** Synthesizes an environment into a temporary folder: file name → its text. */
export function synthFiles(env: Environment): Map<string, string> {
  const dir = mkdtempSync(join(tmpdir(), `mela-synth-${env.name}-`));
  try {
    melaApp(env, dir).synth();
    return new Map(
      readdirSync(dir)
        .sort()
        .map((file) => [file, readFileSync(join(dir, file), 'utf8')]),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every object of an environment, in file order. */
export function synthObjects(env: Environment): KubeObject[] {
  return [...synthFiles(env).values()].flatMap((text) =>
    parseAllDocuments(text).map((doc) => doc.toJS() as KubeObject),
  );
}

/** charts/load as `env` would have it: its files and objects. */
export function synthLoad(env: Environment = environments.dev): {
  files: Map<string, string>;
  objects: KubeObject[];
} {
  const dir = mkdtempSync(join(tmpdir(), 'mela-load-'));
  try {
    loadTestApp(env, dir).synth();
    const files = new Map(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
    const objects = [...files.values()].flatMap((text) =>
      parseAllDocuments(text).map((d) => d.toJS() as KubeObject),
    );
    return { files, objects };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface TestRunSpec {
  parallelism: number;
  script: { configMap: { name: string; file: string } };
  arguments: string;
  runner: {
    image: string;
    env: {
      name: string;
      value?: string;
      valueFrom?: { secretKeyRef: { name: string; key: string } };
    }[];
  };
}
