# bench/pods.sh: sourced by the benchmark scripts. bench_pods_create N makes
# N pods x 2 containers under kubepods/besteffort in every cgroup directory
# cadet reads (creating kubepods itself if missing); bench_pods_remove
# removes exactly what was made. Needs tests/lib/agent.sh sourced first.

BENCH_BASE=kubepods/besteffort
BENCH_MADE=""

bench_pods_create() {
	for _c in $CGROUP_DIRS; do
		for _d in kubepods kubepods/besteffort; do
			if [ ! -d "/sys/fs/cgroup/$_c/$_d" ]; then
				mkdir "/sys/fs/cgroup/$_c/$_d" && BENCH_MADE="/sys/fs/cgroup/$_c/$_d $BENCH_MADE"
			fi
		done
	done
	_i=0
	while [ $_i -lt "$1" ]; do
		_uid=$(printf 'bee%05x-0000-4000-8000-%012x' $_i $_i)
		for _c in $CGROUP_DIRS; do
			mkdir -p "/sys/fs/cgroup/$_c/$BENCH_BASE/pod$_uid/c0$_uid" \
				"/sys/fs/cgroup/$_c/$BENCH_BASE/pod$_uid/c1$_uid"
		done
		_i=$((_i + 1))
	done
}

bench_pods_remove() {
	for _c in $CGROUP_DIRS; do
		for _p in /sys/fs/cgroup/$_c/$BENCH_BASE/podbee*; do
			[ -d "$_p" ] || continue
			rmdir "$_p"/c* 2>/dev/null
			rmdir "$_p" 2>/dev/null
		done
	done
	for _d in $BENCH_MADE; do rmdir "$_d" 2>/dev/null; done
}

# bench_agent_start [agent flags...]: starts cadet-agent on a free port in
# the background; sets AGENT_PID and AGENT_URL.
bench_agent_start() {
	_port=$(free_port)
	"$BUILD/cadet-agent" --listen "" --debug-listen "127.0.0.1:$_port" --bpf=false --container-runtime-endpoint "" \
		--log-level warning "$@" 2>/dev/null &
	AGENT_PID=$!
	AGENT_URL="http://127.0.0.1:$_port"
	wait_url "$AGENT_URL/healthz" 20
}
