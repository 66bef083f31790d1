/** What a test file needs before it runs, from where it lives and what kind of test it is. */
export function testNeeds(file: string): TestNeeds {
  const kind = /\.(integration|system|browser|smoke)\.test\.js$/.exec(file)?.[1];
  return {
    // Integration, system, browser and smoke tests talk to the real servers.
    servers: kind !== undefined,
    // The cdk8s app's, the clusters' and the simulated cluster's tests run Kubernetes' own
    // binaries (built from the Go module proxy once), helm, and the operators' CRDs.
    kube: /^(infra|packages\/(cluster|scaling))\//.test(file),
    // The dashboards and alerts are checked by Debian's Prometheus and promtool.
    promtool: file.includes('observability'),
    // The storefront's and the cluster's browser checks drive Debian's Chromium.
    browser: kind === 'browser' || (kind === 'system' && file.startsWith('packages/cluster/')),
  };
}

export interface TestNeeds {
  readonly servers: boolean;
  readonly kube: boolean;
  readonly promtool: boolean;
  readonly browser: boolean;
}
