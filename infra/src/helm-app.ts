#!/usr/bin/env node
import { environments } from './environments.js';
import { melaApp } from './app.js';
import { markedEnvironment } from './helm-values.js';

/**
 * The app as `cdk8s synth --format helm` runs it (infra/cdk8s.yaml): the environment named by
 * `MELA_ENV` (default prod), with a marker in place of each value the chart lets you set (see
 * helm-values.ts), written where the CLI says (`CDK8S_OUTDIR`).
 */
const name = process.env['MELA_ENV'] ?? 'prod';
const env = Object.values(environments).find((e) => e.name === name);
if (env === undefined) throw new Error(`MELA_ENV must be dev or prod, got "${name}"`);
melaApp(markedEnvironment(env).env, process.env['CDK8S_OUTDIR'] ?? 'dist', {
  namespace: false,
}).synth();
