# 10-node.sh (a part of tests/integration/cluster.sh): the node as the
# kubelet registers it, and pods the kubelet runs from a Deployment on the
# CNI bridge: Ready with containerd 2 as its runtime, at 10.213.0.1; a
# two-replica Deployment of busybox reaches Ready with pod addresses on
# node0's subnet and pod cgroups under kubepods; kubectl through the host's
# loopback forwarder (admin.kubeconfig as written) sees the same node.
kctl get node "$CLUSTER_NODE_NAME" -o 'jsonpath={.status.nodeInfo.containerRuntimeVersion}' | grep -q '^containerd://2\.'
check "node $CLUSTER_NODE_NAME runs containerd 2"
[ "$(kctl get node "$CLUSTER_NODE_NAME" -o 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}')" = "$CLUSTER_NODE_IP" ]
check "node InternalIP is $CLUSTER_NODE_IP"

kapply <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: sleeper, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: sleeper}}
  template:
    metadata: {labels: {app: sleeper}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: sleep
        image: localhost/busybox:1
        imagePullPolicy: Never
        command: [sleep, "100000"]
        resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {cpu: 100m, memory: 32Mi}}
YAML
check "Deployment sleeper applied"
wait_ready_pods default app=sleeper 2 60
check "2 pods of sleeper Ready"
ips=$(kctl get pods -l app=sleeper -o 'jsonpath={.items[*].status.podIP}')
for ip in $ips; do
	case $ip in 10.213.0.*) ;; *) false ;; esac
done
check "pod addresses on node0's subnet ($ips)"
uid=$(kctl get pods -l app=sleeper -o 'jsonpath={.items[0].metadata.uid}')
[ -d "/sys/fs/cgroup/memory/kubepods/burstable/pod$uid" ]
check "pod cgroup at kubepods/burstable/pod$uid"
"$CLUSTER_BIN/kubectl" --kubeconfig "$CLUSTER_DIR/admin.kubeconfig" get nodes | grep -q "^$CLUSTER_NODE_NAME  *Ready "
check "kubectl from the host (127.0.0.1:6443 forwarder) shows the node Ready"
kctl delete deployment sleeper --wait=true >/dev/null
check "Deployment sleeper deleted"
