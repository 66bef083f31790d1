import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testNeeds } from '../src/test-needs.js';

describe('what npm test starts for the files it runs', () => {
  it('when a file is a unit test of a library, then it needs nothing started', () => {
    assert.deepEqual(testNeeds('packages/sharding/dist/test/vindexes.test.js'), {
      servers: false,
      kube: false,
      promtool: false,
      browser: false,
    });
  });

  it('when a file is an integration or system test, then it needs the real servers', () => {
    assert.equal(testNeeds('services/order/dist/test/order.integration.test.js').servers, true);
    assert.equal(testNeeds('packages/load/dist/test/drill.system.test.js').servers, true);
    assert.equal(testNeeds('packages/bench/dist/test/bench.smoke.test.js').servers, true);
  });

  it('when a file is a browser test, then it needs Chromium and the servers', () => {
    const needs = testNeeds('services/catalog/dist/test/storefront.browser.test.js');
    assert.equal(needs.browser, true);
    assert.equal(needs.servers, true);
    assert.equal(needs.kube, false);
  });

  it("when a file tests the manifests or a cluster, then it needs Kubernetes' binaries, helm and the CRDs", () => {
    assert.equal(testNeeds('infra/dist/test/helm.test.js').kube, true);
    assert.equal(testNeeds('infra/dist/test/helm.test.js').servers, false);
    assert.equal(testNeeds('packages/scaling/dist/test/sim-cluster.system.test.js').kube, true);
    assert.equal(
      testNeeds('packages/cluster/dist/test/local-cluster.system.test.js').browser,
      true,
    );
  });

  it('when a file checks the dashboards or alerts, then it needs promtool', () => {
    assert.equal(testNeeds('packages/observability/dist/test/alerts.test.js').promtool, true);
    assert.equal(testNeeds('packages/observability/dist/test/alerts.test.js').servers, false);
  });
});
