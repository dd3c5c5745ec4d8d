# containerd.sh: a private, throw-away containerd for tests and benchmarks.
# Source it (POSIX sh), then:
#
#   ctrd_init DIR          config, CNI config and images under DIR (made by the
#                          caller); notes which kubepods cgroups exist already
#   ctrd_start             starts containerd, waits for its CRI to answer
#   ctrd_stop              stops it (SIGTERM, then SIGKILL), pods stay
#   ctrd_crictl ARGS...    crictl against this containerd (runp, create,
#                          pods, ps, stats, inspect, inspectp; -o json)
#   ctrd_run_pod NAME NS UID [LABEL=VALUE...]   sets CTRD_SANDBOX (sandbox id)
#   ctrd_run_container SANDBOX NAME CMD...      sets CTRD_CONTAINER (container id)
#   ctrd_cleanup           removes pods, stops containerd, unmounts, removes
#                          every kubepods cgroup that appeared since ctrd_init
#                          (in every hierarchy), the CNI bridge and DIR; fails,
#                          naming them, if a cgroup is still left
#
# Everything lives under DIR: root, state, sockets, runc root, CNI config
# and IPAM data. Pods get cgroup parent /kubepods/burstable/pod<uid> (the
# cgroupfs driver, as kubelet names it). Pods and containers are driven,
# and the runtime's own view read, with crictl (sigs.k8s.io/cri-tools, built
# by tests/go-tools.mk), which shares no code with the agent's CRI client.
# Variables set: CTRD_DIR CTRD_SOCK CTRD_ENDPOINT CTRD_PID CTRD_BRIDGE. The
# run functions must not be called in a subshell ($(...)): cleanup relies
# on the pod uids and sandbox ids they record.

CRICTL=${CRICTL:-${BUILD:-build}/go-bin/crictl}
CTRD_PID=""
CTRD_SANDBOXES=""
CTRD_POD_UIDS=""
CTRD_CGROUPS_BEFORE=""
CTRD_CGROUPS_NOTED=""

# Prints why containerd cannot run here, or nothing.
ctrd_missing() {
	[ "$(id -u)" -eq 0 ] || { echo "not root"; return; }
	for b in containerd ctr runc python3 jq; do
		command -v "$b" >/dev/null 2>&1 || { echo "$b not installed"; return; }
	done
	[ -x /usr/lib/cni/bridge ] && [ -x /usr/lib/cni/host-local ] || { echo "containernetworking-plugins not installed"; return; }
	[ -x /bin/busybox ] || { echo "busybox-static not installed"; return; }
	[ -d /sys/fs/cgroup/cpuacct ] || [ -f /sys/fs/cgroup/cgroup.controllers ] || { echo "no cgroup hierarchy mounted"; return; }
	[ -x "$CRICTL" ] || { echo "no crictl at $CRICTL (tests/go-tools.mk builds it with the Go toolchain at /usr/local/go)"; return; }
}

# Every kubepods cgroup directory in every hierarchy, one a line.
ctrd_kubepods_cgroups() {
	for hier in /sys/fs/cgroup/*/ /sys/fs/cgroup/; do
		[ -d "${hier}kubepods" ] && find "${hier}kubepods" -type d
	done
	return 0
}

# The cgroups runc made for our pods that exist now and did not at
# ctrd_init: kubepods, kubepods/burstable and our pods' trees, in every
# hierarchy; deepest first (a child's path sorts after its parent's, so
# reversed before it). Others' cgroups under kubepods are not ours to touch.
ctrd_new_cgroups() {
	[ -n "$CTRD_CGROUPS_NOTED" ] || return 0
	{ printf '%s\n--\n' "$CTRD_CGROUPS_BEFORE"; ctrd_kubepods_cgroups; } |
		awk -v uids="$CTRD_POD_UIDS" '
			BEGIN { n = split(uids, uid, " ") }
			$0 == "--" { now = 1; next }
			!now { before[$0] = 1; next }
			$0 in before { next }
			/^\/sys\/fs\/cgroup\/([^\/]+\/)?kubepods(\/burstable)?$/ { print; next }
			{ for (i = 1; i <= n; i++) if (index($0 "/", "/kubepods/burstable/pod" uid[i] "/")) { print; next } }' |
		sort -r
}

# ctrd_crictl ARGS...: crictl with a config of its own (never the
# machine's /etc/crictl.yaml).
ctrd_crictl() {
	"$CRICTL" --config "$CTRD_DIR/crictl.yaml" "$@"
}

ctrd_init() {
	CTRD_DIR=$1
	CTRD_SOCK=$CTRD_DIR/containerd.sock
	CTRD_ENDPOINT=unix://$CTRD_SOCK
	# Bridge names are at most 15 bytes; the directory's random suffix keeps
	# concurrent runs apart.
	CTRD_BRIDGE=cadet$(basename "$CTRD_DIR" | tr -dc 'a-zA-Z0-9' | tail -c 8)
	mkdir -p "$CTRD_DIR/cni/net.d" "$CTRD_DIR/cni/ipam" "$CTRD_DIR/images" "$CTRD_DIR/opt"
	# What runc creates (the pods' parents too, in every v1 hierarchy and
	# cgroup2) is what is not here now; ctrd_cleanup removes exactly that.
	CTRD_CGROUPS_BEFORE=$(ctrd_kubepods_cgroups)
	CTRD_CGROUPS_NOTED=1
	cat >"$CTRD_DIR/crictl.yaml" <<EOF
runtime-endpoint: $CTRD_ENDPOINT
image-endpoint: $CTRD_ENDPOINT
timeout: 10
EOF
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
	while ! ctrd_crictl version >/dev/null 2>&1; do
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

# ctrd_json_args ARG...: the arguments as a JSON array of strings (jq's
# own --args would take a "-c" among them for its option).
ctrd_json_args() {
	python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@"
}

# ctrd_run_pod NAME NS UID [LABEL=VALUE...]: the sandbox config stays in
# CTRD_POD_CONFIG for the containers created in the pod.
ctrd_run_pod() {
	name=$1 ns=$2 uid=$3
	shift 3
	# kubelet's layout: /var/log/pods/<ns>_<name>_<uid>/<container>/0.log
	CTRD_POD_LOGS=$CTRD_DIR/logs/${ns}_${name}_$uid
	mkdir -p "$CTRD_POD_LOGS" || return 1
	CTRD_POD_CONFIG=$CTRD_DIR/pod-$uid.json
	jq -n --arg name "$name" --arg ns "$ns" --arg uid "$uid" --arg logs "$CTRD_POD_LOGS" \
		--argjson labels "$(ctrd_json_args "$@")" '{
		metadata: { name: $name, namespace: $ns, uid: $uid },
		hostname: $name,
		log_directory: $logs,
		labels: ($labels | map(split("=") | { (.[0]): (.[1:] | join("=")) }) | add // {}),
		linux: { cgroup_parent: ("/kubepods/burstable/pod" + $uid) }
	}' >"$CTRD_POD_CONFIG" || return 1
	CTRD_POD_UIDS="$CTRD_POD_UIDS $uid"
	CTRD_SANDBOX=$(ctrd_crictl runp "$CTRD_POD_CONFIG") || return 1
	CTRD_SANDBOXES="$CTRD_SANDBOXES $CTRD_SANDBOX"
}

# ctrd_run_container SANDBOX NAME CMD...: needs CTRD_POD_CONFIG from
# ctrd_run_pod. Its output goes to CTRD_POD_LOGS/NAME/0.log.
ctrd_run_container() {
	sandbox=$1 cname=$2
	shift 2
	mkdir -p "$CTRD_POD_LOGS/$cname" || return 1
	config=$CTRD_DIR/container-$cname-$(basename "$CTRD_POD_CONFIG")
	jq -n --arg name "$cname" --arg log "$cname/0.log" --argjson command "$(ctrd_json_args "$@")" '{
		metadata: { name: $name },
		image: { image: "localhost/busybox:1" },
		command: $command,
		log_path: $log
	}' >"$config" || return 1
	cid=$(ctrd_crictl create "$sandbox" "$config" "$CTRD_POD_CONFIG") || return 1
	ctrd_crictl start "$cid" >/dev/null || return 1
	CTRD_CONTAINER=$cid
}

# ctrd_remove_cgroups DIR...: kills every process left in the cgroup
# directories (by pid), then removes them in the order given.
ctrd_remove_cgroups() {
	for dir in "$@"; do
		[ -f "$dir/cgroup.procs" ] || continue
		while read -r pid; do kill -9 "$pid" 2>/dev/null; done <"$dir/cgroup.procs"
	done
	for dir in "$@"; do
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
	if [ -z "$CTRD_PID" ] && [ -e "$CTRD_DIR/config.toml" ] && [ -n "$CTRD_SANDBOXES" ]; then
		ctrd_start >/dev/null 2>&1
	fi
	if [ -n "$CTRD_PID" ]; then
		for sid in $(ctrd_crictl pods -q 2>/dev/null); do
			ctrd_crictl rmp -f "$sid" >/dev/null 2>&1
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
	# Every kubepods cgroup that appeared since ctrd_init, in every
	# hierarchy: the pods' and containers' own, and the kubepods and
	# kubepods/burstable parents runc made wherever they were missing.
	# shellcheck disable=SC2046
	ctrd_remove_cgroups $(ctrd_new_cgroups)
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
	left=$(ctrd_new_cgroups)
	if [ -n "$left" ]; then
		echo "cgroups left behind by the test:" $left >&2
		return 1
	fi
}
