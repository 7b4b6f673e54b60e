// The UI's VM addresses carry the namespace; addresses from before (/ui/vms/NAME) map to the current namespace.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { legacyVmPath, namespaceOf, urls } from '../../web/src/model/urls.ts';

describe('web UI addresses', () => {
  it('puts the namespace in every VM page address, escaped', () => {
    assert.equal(urls.vms('team-a'), '/namespaces/team-a/vms');
    assert.equal(urls.vm('team-a', 'web-1'), '/namespaces/team-a/vms/web-1');
    assert.equal(urls.vm('team-a', 'web-1', 'networks'), '/namespaces/team-a/vms/web-1/networks');
    assert.equal(urls.vmEdit('a', 'b'), '/namespaces/a/vms/b/edit');
    assert.equal(urls.vmCreate('a'), '/namespaces/a/vms/create');
    assert.equal(urls.vm('a b', 'x/y'), '/namespaces/a%20b/vms/x%2Fy');
  });

  it('reads the namespace back from a path', () => {
    assert.equal(namespaceOf('/namespaces/team-a/vms'), 'team-a');
    assert.equal(namespaceOf('/namespaces/a%20b/vms/web-1/networks'), 'a b');
    assert.equal(namespaceOf('/namespaces'), undefined);
    assert.equal(namespaceOf('/namespaces/team-a'), undefined);
    assert.equal(namespaceOf('/namespaces/team-a/vmsx'), undefined);
    assert.equal(namespaceOf('/networks'), undefined);
  });

  it('sends an old /vms address to the same page in the current namespace', () => {
    assert.equal(legacyVmPath('/vms', 'default'), '/namespaces/default/vms');
    assert.equal(legacyVmPath('/vms/web-1/networks', 'ns1'), '/namespaces/ns1/vms/web-1/networks');
    assert.equal(legacyVmPath('/vmsx', 'ns1'), undefined);
    assert.equal(legacyVmPath('/networks', 'ns1'), undefined);
  });
});
