# containerd.sh: a private, throw-away containerd for tests and benchmarks.
# Source it (POSIX sh), then:
#
#   ctrd_init DIR          config, CNI config and images under DIR (made by the caller)
#   ctrd_start             starts containerd, waits for its CRI to answer
#   ctrd_stop              stops it (SIGTERM, then SIGKILL), pods stay
#   ctrd_run_pod NAME NS UID [LABEL=VALUE...]   sets CTRD_SANDBOX (sandbox id)
#   ctrd_run_container SANDBOX NAME CMD...      sets CTRD_CONTAINER (container id)
#   ctrd_cleanup           removes pods, stops containerd, unmounts, removes
#                          the pods' cgroups, the CNI bridge and DIR
#
# Everything lives under DIR: root, state, sockets, runc root, CNI config
# and IPAM data. Pods get cgroup parent /kubepods/burstable/pod<uid> (the
# cgroupfs driver, as kubelet names it). Needs CRI_TOOL (tests/tools/cri-tool).
# Variables set: CTRD_DIR CTRD_SOCK CTRD_ENDPOINT CTRD_PID CTRD_BRIDGE. The
# run functions must not be called in a subshell ($(...)): cleanup relies
# on the pod uids they record.

CTRD_PID=""
CTRD_POD_UIDS=""
CTRD_SANDBOXES=""
CTRD_CREATED_KUBEPODS=""

# Prints why containerd cannot run here, or nothing.
ctrd_missing() {
	[ "$(id -u)" -eq 0 ] || { echo "not root"; return; }
	for b in containerd ctr runc python3; do
		command -v "$b" >/dev/null 2>&1 || { echo "$b not installed"; return; }
	done
	[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] || { echo "containernetworking-plugins not installed"; return; }
	[ -x /bin/busybox ] || { echo "busybox-static not installed"; return; }
	[ -d /sys/fs/cgroup/cpuacct ] || [ -f /sys/fs/cgroup/cgroup.controllers ] || { echo "no cgroup hierarchy mounted"; return; }
}

ctrd_init() {
	CTRD_DIR=$1
	CTRD_SOCK=$CTRD_DIR/containerd.sock
	CTRD_ENDPOINT=unix://$CTRD_SOCK
	# Bridge names are at most 15 bytes; the directory's random suffix keeps
	# concurrent runs apart.
	CTRD_BRIDGE=cadet$(basename "$CTRD_DIR" | tr -dc 'a-zA-Z0-9' | tail -c 8)
	mkdir -p "$CTRD_DIR/cni/net.d" "$CTRD_DIR/cni/ipam" "$CTRD_DIR/images" "$CTRD_DIR/opt"
	cat >"$CTRD_DIR/config.toml" <<EOF
version = 2
root = "$CTRD_DIR/root"
state = "$CTRD_DIR/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_SOCK.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "localhost/pause:1"
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  stats_collect_period = 1
  netns_mounts_under_state_dir = true
  # Without CAP_SYS_RESOURCE runc cannot lower oom_score_adj below ours.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(command -v runc)"
        Root = "$CTRD_DIR/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CTRD_DIR/cni/net.d"
    max_conf_num = 1
[plugins."io.containerd.internal.v1.opt"]
  path = "$CTRD_DIR/opt"
EOF
	# A bridge that is not a gateway and masquerades nothing: pods reach
	# only each other, the host's forwarding settings stay as they are.
	cat >"$CTRD_DIR/cni/net.d/10-cadet.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$CTRD_BRIDGE",
  "plugins": [{
    "type": "bridge", "bridge": "$CTRD_BRIDGE", "isGateway": false, "ipMasq": false,
    "ipam": {"type": "host-local", "dataDir": "$CTRD_DIR/cni/ipam",
             "ranges": [[{"subnet": "10.231.$(($$ % 200 + 20)).0/24"}]]}
  }]
}
EOF
	python3 "${CADET_SRC:-.}/tests/lib/oci-image.py" "$CTRD_DIR/images" localhost/pause:1 \
		--entrypoint /bin/sleep --entrypoint 2147483647 >/dev/null &&
		python3 "${CADET_SRC:-.}/tests/lib/oci-image.py" "$CTRD_DIR/images" localhost/busybox:1 --cmd /bin/sh >/dev/null
}

ctrd_start() {
	containerd --config "$CTRD_DIR/config.toml" >>"$CTRD_DIR/containerd.log" 2>&1 &
	CTRD_PID=$!
	i=0
	while ! "$CRI_TOOL" -r "$CTRD_ENDPOINT" version >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$CTRD_PID" 2>/dev/null; then
			echo "containerd did not start; its log:"
			tail -n 20 "$CTRD_DIR/containerd.log"
			return 1
		fi
		sleep 0.1
	done
	if [ ! -e "$CTRD_DIR/images.imported" ]; then
		for image in pause-1 busybox-1; do
			ctr -a "$CTRD_SOCK" -n k8s.io images import --snapshotter overlayfs \
				"$CTRD_DIR/images/$image.tar" >/dev/null || return 1
		done
		touch "$CTRD_DIR/images.imported"
	fi
}

ctrd_stop() {
	[ -n "$CTRD_PID" ] || return 0
	kill "$CTRD_PID" 2>/dev/null
	i=0
	while kill -0 "$CTRD_PID" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -9 "$CTRD_PID" 2>/dev/null
	wait "$CTRD_PID" 2>/dev/null
	CTRD_PID=""
}

ctrd_run_pod() {
	name=$1 ns=$2 uid=$3
	shift 3
	[ -d /sys/fs/cgroup/cpuacct/kubepods ] || [ -d /sys/fs/cgroup/kubepods ] || CTRD_CREATED_KUBEPODS=1
	CTRD_POD_UIDS="$CTRD_POD_UIDS $uid"
	# kubelet's layout: /var/log/pods/<ns>_<name>_<uid>/<container>/0.log
	CTRD_POD_LOGS=$CTRD_DIR/logs/${ns}_${name}_$uid
	mkdir -p "$CTRD_POD_LOGS" || return 1
	CTRD_POD_ARGS="--pod-name $name --pod-namespace $ns --pod-uid $uid --cgroup-parent /kubepods/burstable/pod$uid --log-directory $CTRD_POD_LOGS"
	set -- --name "$name" --namespace "$ns" --uid "$uid" --cgroup-parent "/kubepods/burstable/pod$uid" \
		--log-directory "$CTRD_POD_LOGS" \
		$(for l in "$@"; do printf -- '--label %s ' "$l"; done)
	CTRD_SANDBOX=$("$CRI_TOOL" -r "$CTRD_ENDPOINT" runp "$@") || return 1
	CTRD_SANDBOXES="$CTRD_SANDBOXES $CTRD_SANDBOX"
}

# ctrd_run_container SANDBOX NAME CMD...: needs CTRD_POD_ARGS from ctrd_run_pod.
# Its output goes to CTRD_POD_LOGS/NAME/0.log.
ctrd_run_container() {
	sandbox=$1 cname=$2
	shift 2
	mkdir -p "$CTRD_POD_LOGS/$cname" || return 1
	# shellcheck disable=SC2086
	cid=$("$CRI_TOOL" -r "$CTRD_ENDPOINT" create "$sandbox" --name "$cname" --image localhost/busybox:1 \
		--log-path "$cname/0.log" $CTRD_POD_ARGS -- "$@") || return 1
	"$CRI_TOOL" -r "$CTRD_ENDPOINT" start "$cid" || return 1
	CTRD_CONTAINER=$cid
}

# Kills every process left in a cgroup directory tree (by pid), then removes
# the directories bottom-up.
ctrd_remove_cgroup_tree() {
	[ -d "$1" ] || return 0
	find "$1" -depth -type d | while read -r dir; do
		if [ -f "$dir/cgroup.procs" ]; then
			while read -r pid; do kill -9 "$pid" 2>/dev/null; done <"$dir/cgroup.procs"
		fi
	done
	find "$1" -depth -type d | while read -r dir; do
		j=0
		while ! rmdir "$dir" 2>/dev/null && [ -d "$dir" ] && [ $j -lt 20 ]; do
			sleep 0.1
			j=$((j + 1))
		done
	done
}

ctrd_cleanup() {
	[ -n "${CTRD_DIR:-}" ] || return 0
	# Remove pods through the runtime while it runs (it stops their
	# processes and tears down their network); restart it if it was stopped.
	if [ -z "$CTRD_PID" ] && [ -e "$CTRD_DIR/config.toml" ] && [ -n "$CTRD_POD_UIDS" ]; then
		ctrd_start >/dev/null 2>&1
	fi
	if [ -n "$CTRD_PID" ]; then
		for cid in $("$CRI_TOOL" -r "$CTRD_ENDPOINT" ps 2>/dev/null | sed -n 's/^id=\([^ ]*\).*/\1/p'); do
			"$CRI_TOOL" -r "$CTRD_ENDPOINT" stop "$cid" >/dev/null 2>&1
			"$CRI_TOOL" -r "$CTRD_ENDPOINT" rm "$cid" >/dev/null 2>&1
		done
		for sid in $("$CRI_TOOL" -r "$CTRD_ENDPOINT" pods 2>/dev/null | sed -n 's/^id=\([^ ]*\).*/\1/p'); do
			"$CRI_TOOL" -r "$CTRD_ENDPOINT" stopp "$sid" >/dev/null 2>&1
			"$CRI_TOOL" -r "$CTRD_ENDPOINT" rmp "$sid" >/dev/null 2>&1
		done
	fi
	ctrd_stop
	# Shims left behind (removal failed) are found by the socket path they
	# were given, which no other process has.
	for p in /proc/[0-9]*; do
		if (tr '\0' ' ' <"$p/cmdline") 2>/dev/null | grep -q -- "-address $CTRD_SOCK "; then
			kill -9 "${p#/proc/}" 2>/dev/null
		fi
	done
	for uid in $CTRD_POD_UIDS; do
		for hier in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
			ctrd_remove_cgroup_tree "${hier}kubepods/burstable/pod$uid"
		done
	done
	if [ -n "$CTRD_CREATED_KUBEPODS" ]; then
		for hier in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
			rmdir "${hier}kubepods/burstable" "${hier}kubepods" 2>/dev/null
		done
	fi
	# Mounts under our directory (rootfs overlays, shm, netns), deepest first.
	awk -v d="$CTRD_DIR/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	if ip link show "$CTRD_BRIDGE" >/dev/null 2>&1; then
		ip link del "$CTRD_BRIDGE" 2>/dev/null
	fi
	# libcni's cache of attachments a failed teardown left behind.
	rm -f /var/lib/cni/results/"$CTRD_BRIDGE"-*
	for sid in $CTRD_SANDBOXES; do
		rm -f "/var/lib/cni/results/cni-loopback-$sid-lo"
	done
	rm -rf "$CTRD_DIR"
	CTRD_DIR=""
}
