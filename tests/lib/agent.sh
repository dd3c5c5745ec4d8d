# tests/lib/agent.sh: shell helpers the integration tests share: a free
# loopback port, waiting for an HTTP endpoint, failing and checking steps
# (fail, check), a part that cannot run (skip_part), stopping a process
# within a deadline (stop_pid), and real-cgroup setup/teardown on this
# machine's hierarchy.
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

# skip_part NAME REASON: a part of this test cannot run here. Prints the
# marker tests/run-tests.sh reports as "SKIP  integration/TEST/NAME: REASON"
# (counted as a skip, held against tests/expected-skips); the test goes on.
skip_part() {
	[ $# -ge 2 ] && [ -n "$2" ] || fail "skip_part NAME REASON: no reason given for '${1:-}'"
	_part=$1
	shift
	echo "cadet-test: skip-part $_part: $*"
}

# stop_pid PID [SECONDS]: SIGTERM, up to SECONDS (default 10) for PID to
# exit, then SIGKILL; returns PID's exit status (137 after the SIGKILL) so a
# daemon that ignores SIGTERM cannot hang the test. Quiet when PID is gone.
stop_pid() {
	kill -TERM "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return; }
	_n=$(( ${2:-10} * 10 ))
	# A child that exited stays a zombie (state Z) until it is waited for.
	while [ "$_n" -gt 0 ] && [ -e "/proc/$1" ] && [ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]; do
		sleep 0.1
		_n=$((_n - 1))
	done
	if [ "$_n" -eq 0 ]; then
		echo "pid $1 still running ${2:-10} s after SIGTERM: SIGKILL" >&2
		kill -KILL "$1" 2>/dev/null
	fi
	wait "$1"
}

# The cgroup directories a container needs on this hybrid machine: every
# v1 controller cadet reads plus the cgroup2 mount.
CGROUP_DIRS="cpu cpuacct memory pids unified"

# Every directory cgroup_mk created (parents included), newest first, as
# CONTROLLER/RELPATH; cgroup_rm_made removes them.
CGROUP_MADE=""

# cgroup_mk RELPATH: creates RELPATH and its missing parents under each
# controller in CGROUP_DIRS, recording what it created. Not in a subshell.
cgroup_mk() {
	for _c in $CGROUP_DIRS; do
		_rel=""
		for _part in $(echo "$1" | tr '/' ' '); do
			_rel=${_rel:+$_rel/}$_part
			[ -d "/sys/fs/cgroup/$_c/$_rel" ] && continue
			mkdir "/sys/fs/cgroup/$_c/$_rel" || return 1
			CGROUP_MADE="$_c/$_rel $CGROUP_MADE"
		done
	done
}

# cgroup_join RELPATH PID: moves PID into RELPATH in every controller.
cgroup_join() {
	for _c in $CGROUP_DIRS; do
		echo "$2" > "/sys/fs/cgroup/$_c/$1/cgroup.procs" || return 1
	done
}

# cgroup_rmdir DIR: kills what is left in the cgroup DIR and removes it;
# quiet when already gone.
cgroup_rmdir() {
	[ -d "$1" ] || return 0
	for _pid in $(cat "$1/cgroup.procs" 2>/dev/null); do
		kill -9 "$_pid" 2>/dev/null
	done
	_i=0
	while ! rmdir "$1" 2>/dev/null && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
}

# cgroup_rm RELPATH...: removes each cgroup, in the order given (deepest
# first), in every controller.
cgroup_rm() {
	for _p in "$@"; do
		for _c in $CGROUP_DIRS; do
			cgroup_rmdir "/sys/fs/cgroup/$_c/$_p"
		done
	done
}

# cgroup_rm_made: removes every directory cgroup_mk created, parents such as
# kubepods and kubepods/burstable included, newest first, in every controller.
cgroup_rm_made() {
	for _m in $CGROUP_MADE; do
		cgroup_rmdir "/sys/fs/cgroup/$_m"
	done
	CGROUP_MADE=""
}
