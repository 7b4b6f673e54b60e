// The UI's addresses of a namespace's pages carry the namespace; addresses from before (/ui/vms/NAME, /ui/disks,
// /ui/images) map to the current namespace.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { legacyPath, namespacedPage, namespaceOf, urls } from '../../web/src/model/urls.ts';

describe('web UI addresses', () => {
  it('puts the namespace in every VM page address, escaped', () => {
    assert.equal(urls.vms('team-a'), '/namespaces/team-a/vms');
    assert.equal(urls.vm('team-a', 'web-1'), '/namespaces/team-a/vms/web-1');
    assert.equal(urls.vm('team-a', 'web-1', 'networks'), '/namespaces/team-a/vms/web-1/networks');
    assert.equal(urls.vmEdit('a', 'b'), '/namespaces/a/vms/b/edit');
    assert.equal(urls.vmCreate('a'), '/namespaces/a/vms/create');
    assert.equal(urls.vm('a b', 'x/y'), '/namespaces/a%20b/vms/x%2Fy');
  });

  it('puts the namespace in the disks and images addresses', () => {
    assert.equal(urls.disks('team-a'), '/namespaces/team-a/disks');
    assert.equal(urls.images('a b'), '/namespaces/a%20b/images');
    assert.equal(urls.networks('team-a'), '/namespaces/team-a/networks');
    assert.equal(urls.audit('team-a'), '/namespaces/team-a/audit');
    assert.equal(urls.audit('team-a', 'web 1'), '/namespaces/team-a/audit?vm=web%201');
  });

  it('reads the namespace and the section back from a path', () => {
    assert.equal(namespaceOf('/namespaces/team-a/vms'), 'team-a');
    assert.equal(namespaceOf('/namespaces/a%20b/vms/web-1/networks'), 'a b');
    assert.deepEqual(namespacedPage('/namespaces/team-a/disks'), {
      namespace: 'team-a',
      section: 'disks',
    });
    assert.deepEqual(namespacedPage('/namespaces/x/images'), { namespace: 'x', section: 'images' });
    assert.equal(namespaceOf('/namespaces'), undefined);
    assert.equal(namespaceOf('/namespaces/team-a'), undefined);
    assert.equal(namespaceOf('/namespaces/team-a/vmsx'), undefined);
    assert.equal(namespaceOf('/namespaces/team-a/diskss'), undefined);
    assert.deepEqual(namespacedPage('/namespaces/x/networks'), {
      namespace: 'x',
      section: 'networks',
    });
    assert.deepEqual(namespacedPage('/namespaces/x/audit'), { namespace: 'x', section: 'audit' });
    assert.equal(namespaceOf('/networks'), undefined);
    assert.equal(namespaceOf('/audit'), undefined);
  });

  it('sends an old address to the same page in the current namespace', () => {
    assert.equal(legacyPath('/vms', 'default'), '/namespaces/default/vms');
    assert.equal(legacyPath('/vms/web-1/networks', 'ns1'), '/namespaces/ns1/vms/web-1/networks');
    assert.equal(legacyPath('/disks', 'ns1'), '/namespaces/ns1/disks');
    assert.equal(legacyPath('/images', 'a b'), '/namespaces/a%20b/images');
    assert.equal(legacyPath('/vmsx', 'ns1'), undefined);
    assert.equal(legacyPath('/disksx', 'ns1'), undefined);
    assert.equal(legacyPath('/networks', 'ns1'), '/namespaces/ns1/networks');
    assert.equal(legacyPath('/audit', 'ns1'), '/namespaces/ns1/audit');
    assert.equal(legacyPath('/auditx', 'ns1'), undefined);
    assert.equal(legacyPath('/macpool', 'ns1'), undefined);
    assert.equal(legacyPath('/namespaces', 'ns1'), undefined);
  });
});
