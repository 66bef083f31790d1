#!/usr/bin/env node
import { environments } from './environments.js';
import { melaApp } from './app.js';

/**
 * The app as `cdk8s synth --format helm` runs it (infra/cdk8s.yaml): the environment named by
 * `MELA_ENV` (default prod), written where the CLI says (`CDK8S_OUTDIR`).
 */
const name = process.env['MELA_ENV'] ?? 'prod';
const env = Object.values(environments).find((e) => e.name === name);
if (env === undefined) throw new Error(`MELA_ENV must be dev or prod, got "${name}"`);
melaApp(env, process.env['CDK8S_OUTDIR'] ?? 'dist', { namespace: false }).synth();
