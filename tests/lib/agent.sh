# tests/lib/agent.sh: shell helpers the integration tests share: a free
# loopback port, waiting for an HTTP endpoint, failing and checking steps
# (fail, check), and real-cgroup setup/teardown on this machine's hierarchy.
# Source it with `. tests/lib/agent.sh`; it uses $BUILD (default build).

BUILD=${BUILD:-build}
CADET_AGENT=${CADET_AGENT:-$BUILD/cadet-agent}

# Prints a TCP port on 127.0.0.1 that was free a moment ago.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_url URL [SECONDS]: waits until URL answers 200.
wait_url() {
	_n=$(( ${2:-10} * 10 ))
	while [ "$_n" -gt 0 ]; do
		if curl -fsS -o /dev/null "$1" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
		_n=$((_n - 1))
	done
	echo "timed out waiting for $1" >&2
	return 1
}

# wait_for SECONDS CMD [ARG...]: runs CMD every 0.1 s until it succeeds;
# fails (saying what it waited for) when SECONDS have passed without.
wait_for() {
	_wf_end=$(($(date +%s) + $1))
	shift
	until "$@"; do
		if [ "$(date +%s)" -ge "$_wf_end" ]; then
			echo "timed out waiting for: $*" >&2
			return 1
		fi
		sleep 0.1
	done
}

# fail MESSAGE: prints and exits non-zero (the trap cleans up).
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# check DESCRIPTION: passes ("ok: DESCRIPTION") when the last command
# succeeded; otherwise runs the test's own show_logs and fails. DESCRIPTION
# must not hold a command substitution, whose status would replace the one
# check looks at.
check() {
	if [ $? -ne 0 ]; then
		show_logs
		fail "$1"
	fi
	echo "ok: $1"
}

# The cgroup directories a container needs on this hybrid machine: every
# v1 controller cadet reads plus the cgroup2 mount.
CGROUP_DIRS="cpu cpuacct memory pids unified"

# cgroup_mk RELPATH: creates RELPATH under each controller in CGROUP_DIRS.
cgroup_mk() {
	for _c in $CGROUP_DIRS; do
		mkdir -p "/sys/fs/cgroup/$_c/$1" || return 1
	done
}

# cgroup_join RELPATH PID: moves PID into RELPATH in every controller.
cgroup_join() {
	for _c in $CGROUP_DIRS; do
		echo "$2" > "/sys/fs/cgroup/$_c/$1/cgroup.procs" || return 1
	done
}

# cgroup_rm RELPATH...: kills what is left in each cgroup and removes it,
# deepest first, in every controller; quiet when already gone.
cgroup_rm() {
	for _p in "$@"; do
		for _c in $CGROUP_DIRS; do
			_d="/sys/fs/cgroup/$_c/$_p"
			[ -d "$_d" ] || continue
			for _pid in $(cat "$_d/cgroup.procs" 2>/dev/null); do
				kill -9 "$_pid" 2>/dev/null
			done
			_i=0
			while ! rmdir "$_d" 2>/dev/null && [ $_i -lt 50 ]; do
				sleep 0.1
				_i=$((_i + 1))
			done
		done
	done
}
