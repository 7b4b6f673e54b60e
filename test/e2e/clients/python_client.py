# Debian's python3-kubernetes against harrow serve (TLS, the kubeconfig Harrow writes): CustomObjectsApi, the
# discovery-based DynamicClient and watch.Watch().stream. Prints one JSON object with what it saw; the e2e asserts on it.
import json
import sys
import threading

from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException

kubeconfig, namespace = sys.argv[1], sys.argv[2]
api_client = config.new_client_from_config(config_file=kubeconfig)
custom = client.CustomObjectsApi(api_client)
out = {}


def vm(name, mac=None):
    iface = {"name": "default", "masquerade": {}}
    if mac:
        iface["macAddress"] = mac
    return {
        "apiVersion": "kubevirt.io/v1",
        "kind": "VirtualMachine",
        "metadata": {"name": name, "labels": {"client": "python"}},
        "spec": {
            "runStrategy": "Halted",
            "template": {
                "spec": {
                    "domain": {"devices": {"interfaces": [iface]}},
                    "networks": [{"name": "default", "pod": {}}],
                }
            },
        },
    }


# watch.Watch().stream over the custom-object list, started before the create so it sees ADDED.
events = []
watcher = watch.Watch()
started = threading.Event()


def follow():
    started.set()
    for e in watcher.stream(
        custom.list_namespaced_custom_object,
        "kubevirt.io",
        "v1",
        namespace,
        "virtualmachines",
        timeout_seconds=60,
    ):
        events.append([e["type"], e["object"]["metadata"]["name"]])
        if e["type"] == "DELETED" and e["object"]["metadata"]["name"] == "py-a":
            watcher.stop()


thread = threading.Thread(target=follow)
thread.start()
started.wait()

created = custom.create_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachines", vm("py-a"))
out["createdMac"] = created["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0]["macAddress"]
listed = custom.list_namespaced_custom_object(
    "kubevirt.io", "v1", namespace, "virtualmachines", label_selector="client=python"
)
out["listed"] = [i["metadata"]["name"] for i in listed["items"]]

dyn = dynamic.DynamicClient(api_client)
vms = dyn.resources.get(api_version="kubevirt.io/v1", kind="VirtualMachine")
out["dynamicPlural"] = vms.name
out["dynamicNamespaced"] = vms.namespaced
out["dynamicList"] = [i.metadata.name for i in vms.get(namespace=namespace).items]
patched = vms.patch(
    name="py-a",
    namespace=namespace,
    body={"spec": {"runStrategy": "Manual"}},
    content_type="application/merge-patch+json",
)
out["patchedRunStrategy"] = patched.spec.runStrategy
pools = dyn.resources.get(api_version="harrow.io/v1", kind="MacPool")
out["pools"] = [p.metadata.name for p in pools.get().items]

try:
    custom.create_namespaced_custom_object(
        "kubevirt.io", "v1", namespace, "virtualmachines", vm("py-b", out["createdMac"])
    )
    out["conflict"] = None
except ApiException as e:
    out["conflict"] = {"status": e.status, "body": json.loads(e.body)}

custom.delete_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachines", "py-a")
thread.join(90)
out["events"] = events
print(json.dumps(out))
