#!/bin/sh
# run-tests.sh: runs every unit test program in $BUILD/tests and every
# integration script in tests/integration, then prints one closing line
# "N passed, N failed, N skipped". TESTS=pattern runs the tests whose name
# (unit/NAME, integration/NAME) holds pattern; a pattern that matches no test
# is an error.
#
# Skips. A test that cannot run exits 77 and says why on its last line of
# output; that is a skip, never a pass (exit 77 without a reason fails). A
# part of a test that cannot run is reported like a test: a cmocka skip()
# ("[  SKIPPED ] case", the reason printed just before it) becomes
# unit/PROGRAM/case, and a script's skip_part NAME REASON (tests/lib/agent.sh)
# becomes integration/SCRIPT/NAME. Each is counted as skipped. Every skip
# must be listed, with its reason, in tests/expected-skips (CADET_EXPECTED_SKIPS
# names another file); one that is not fails the run. CADET_ALLOW_SKIPS=1
# relaxes that for a machine that is not the project's own.
#
# Deadlines. Each test runs in its own session with a deadline: 300 s
# (CADET_TEST_DEADLINE_S), or what its source declares in a header line
# "deadline: N" (`# deadline: 900` in a script, ` * deadline: 900` in a unit
# test's .c file). Past it the test's session gets SIGTERM, SIGKILL after
# 10 s; it fails and the tail of its log is printed.
#
# Leftovers. Every process a test starts carries CADET_TEST_RUN (this run's
# id and the test's name) in its environment, containerd and its shims
# included; one still alive after the test (or still in its session) is a
# leftover, and is killed. Before and after each test the runner also lists
# what tests make on this machine: cgroup directories named kubepods* or
# cadet-* (and everything under them) in every hierarchy, mounts under /tmp
# and the build folder, network namespaces and cadet* network links. Anything
# new fails the test, with the list. When another run holds the machine's
# test lock (CADET_ITEST_LOCK, /tmp/cadet-itest.lock) those lists would show
# its work, so only the test's own processes are checked.
set -u
BUILD=${BUILD:-build}
export BUILD
pattern=${TESTS:-}
expected_file=${CADET_EXPECTED_SKIPS:-tests/expected-skips}
allow_skips=${CADET_ALLOW_SKIPS:-0}
default_deadline_s=${CADET_TEST_DEADLINE_S:-300}
kill_grace_s=10
leftover_grace_ds=20 # tenths of a second a leftover may take to go away
lock=${CADET_ITEST_LOCK:-/tmp/cadet-itest.lock}
root=$(pwd)
case "$BUILD" in /*) build_abs=$BUILD ;; *) build_abs=$root/$BUILD ;; esac
logdir=$BUILD/test-logs
mkdir -p "$logdir/unit" "$logdir/integration" || exit 2 # test names are unit/NAME, integration/NAME
work=$(mktemp -d "${TMPDIR:-/tmp}/cadet-run-tests.XXXXXX") || exit 2
passed=0 failed=0 skipped=0 failed_names="" unexpected_skips="" lock_note=""
cur_watch="" test_id="" run_id=$$.$(date +%s)

# ---- the tests to run, and the expected skips ---------------------------

# src_of NAME: the source a test's header is read from.
src_of() {
	case "$1" in
	unit/*) echo "tests/unit/${1#unit/}.c" ;;
	integration/*) echo "tests/integration/${1#integration/}.sh" ;;
	esac
}

: >"$work/list"
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	echo "unit/$(basename "$t") $t" >>"$work/list"
done
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	echo "integration/$(basename "$t" .sh) $t" >>"$work/list"
done
awk -v p="$pattern" 'index($1, p) > 0' "$work/list" >"$work/selected"
if [ ! -s "$work/selected" ]; then
	echo "error: TESTS='$pattern' matches no test (names are unit/test_* in $BUILD/tests and integration/* in tests/integration)"
	rm -rf "$work"
	exit 2
fi

# Expected skips: "name: reason" lines, # comments; name may be a shell pattern.
: >"$work/expected"
: >"$work/skips"
if [ -f "$expected_file" ]; then
	if ! awk -v f="$expected_file" '
		/^[ \t]*(#|$)/ { next }
		!/^[^ \t:]+: [^ \t]/ { printf "error: %s:%d: want \"name: reason\", got: %s\n", f, NR, $0; bad = 1; next }
		{ print substr($0, 1, index($0, ":") - 1) }
		END { exit bad }' "$expected_file" >"$work/expected"; then
		cat "$work/expected"
		rm -rf "$work"
		exit 2
	fi
fi

# declared_deadline SRC: the "deadline: N" of a test's header, or the default.
declared_deadline() {
	_d=""
	[ -f "$1" ] && _d=$(sed -n '1,40{s/^[#/* ]*deadline: *\([0-9][0-9]*\).*/\1/p}' "$1" | head -n 1)
	echo "${_d:-$default_deadline_s}"
}

# skip_expected NAME: NAME is listed in the expected skips.
skip_expected() {
	while read -r _pat; do
		# shellcheck disable=SC2254
		case "$1" in $_pat) return 0 ;; esac
	done <"$work/expected"
	return 1
}

# record_skip NAME REASON: one skip, counted, held against the expected list.
record_skip() {
	skipped=$((skipped + 1))
	echo "$1" >>"$work/skips"
	if skip_expected "$1"; then
		echo "SKIP  $1: $2"
	else
		echo "SKIP  $1: $2 [not in $expected_file]"
		unexpected_skips="$unexpected_skips $1"
	fi
}

# ---- a test's processes, and deadlines ------------------------------------

# test_pids: the processes of the running test: its session (sid) and every
# process whose environment carries its CADET_TEST_RUN (test_id).
test_pids() {
	{
		[ -n "${sid:-}" ] && ps -eo pid=,sid= | awk -v s="$sid" '$2 == s { print $1 }'
		grep -lzxF "CADET_TEST_RUN=$test_id" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3
	} | sort -un
}

# kill_test SIGNAL: signals the test's process group and all its processes.
kill_test() {
	[ -n "${sid:-}" ] && kill -"$1" -- "-$sid" 2>/dev/null
	for _p in $(test_pids); do
		kill -"$1" "$_p" 2>/dev/null
	done
}

# test_ends TENTHS: waits up to TENTHS tenths of a second for the test to
# have no process left; false if some are still there.
test_ends() {
	_until=$(($(date +%s%N) / 100000000 + $1))
	while [ -n "$(test_pids)" ]; do
		[ "$(($(date +%s%N) / 100000000))" -lt "$_until" ] || return 1
		sleep 0.1
	done
}

# end_test: TERM, up to the grace period, then KILL; says which it took.
end_test() {
	echo SIGTERM
	kill_test TERM
	test_ends $((kill_grace_s * 10)) && return
	echo "SIGKILL ${kill_grace_s}s later"
	kill_test KILL
}

# watch_deadline SECONDS MARKER: in the background, ends the test after
# SECONDS, writing what it sent to MARKER. It sleeps in 1 s steps so that a
# TERM from the runner leaves no long sleep behind.
watch_deadline() {
	_left=$1
	while [ "$_left" -gt 0 ]; do
		sleep 1
		_left=$((_left - 1))
	done
	sid=$(cat "$work/sid" 2>/dev/null)
	end_test >"$2"
}

# run_bounded LOG DEADLINE_S CMD...: runs CMD in a new session, output to
# LOG, bounded by the deadline; sets rc, timed_out and sid.
run_bounded() {
	_log=$1 _deadline=$2
	shift 2
	rm -f "$work/sid" "$work/deadline-passed"
	sid=""
	CADET_TEST_RUN=$test_id setsid -w sh -c 'echo $$ >"$0" && exec "$@"' "$work/sid" "$@" >"$_log" 2>&1 </dev/null &
	_launcher=$!
	watch_deadline "$_deadline" "$work/deadline-passed" >/dev/null 2>&1 &
	cur_watch=$!
	wait "$_launcher" 2>/dev/null # no "Killed" from the shell: the verdict says it
	rc=$?
	# Past the deadline the watcher finishes its TERM/KILL; otherwise it stops.
	[ -e "$work/deadline-passed" ] || kill "$cur_watch" 2>/dev/null
	wait "$cur_watch" 2>/dev/null
	cur_watch=""
	sid=$(cat "$work/sid" 2>/dev/null)
	timed_out=""
	[ -e "$work/deadline-passed" ] && timed_out=$(sed ':a;N;s/\n/, /;ba' "$work/deadline-passed")
}

# On ^C or TERM: end the running test too, it is not ours to leave.
interrupted() {
	[ -n "$cur_watch" ] && kill "$cur_watch" 2>/dev/null
	sid=$(cat "$work/sid" 2>/dev/null)
	[ -n "$test_id" ] && end_test >/dev/null
	echo "interrupted"
	rm -rf "$work"
	exit 130
}
trap interrupted INT TERM HUP

# ---- leftovers ----------------------------------------------------------

# The runner's ancestors: a lock they hold is this run's.
ancestors=""
_p=$$
while [ "${_p:-0}" -gt 1 ] 2>/dev/null; do
	ancestors="$ancestors $_p"
	_p=$(sed 's/^.*) //' "/proc/$_p/stat" 2>/dev/null | cut -d' ' -f2)
done

# lock_held_elsewhere: prints the pid holding the test lock when it is not
# this run (or one that started it).
lock_held_elsewhere() {
	[ -e "$lock" ] || return 1
	_ino=$(stat -c %i "$lock" 2>/dev/null) || return 1
	for _h in $(awk -v ino="$_ino" '$2 == "FLOCK" { n = split($6, a, ":"); if (a[n] == ino) print $5 }' /proc/locks); do
		case " $ancestors " in *" $_h "*) ;; *) echo "$_h" && return 0 ;; esac
	done
	return 1
}

# snapshot: one sorted line per thing a test can leave on this machine.
snapshot() {
	{
		find /sys/fs/cgroup \( -path '*kubepods*' -o -path '*/cadet-*' \) -type d 2>/dev/null | sed 's/^/cgroup /'
		awk -v t=/tmp/ -v b="$build_abs/" 'index($5, t) == 1 || index($5, b) == 1 { print "mount " $5 }' /proc/self/mountinfo
		ip netns list 2>/dev/null | awk '{ print "netns " $1 }'
		ip -o link show 2>/dev/null | awk -F': ' '$2 ~ /^cadet/ { sub(/@.*/, "", $2); print "link " $2 }'
	} | sort
}

# leftovers BEFORE: what is new since BEFORE, waiting a little for things on
# their way out (a cgroup being released).
leftovers() {
	_i=0
	while :; do
		snapshot >"$work/after"
		comm -13 "$1" "$work/after" >"$work/new"
		[ -s "$work/new" ] && [ $_i -lt $leftover_grace_ds ] || break
		sleep 0.1
		_i=$((_i + 1))
	done
	cat "$work/new"
}

# ---- one test -----------------------------------------------------------

# cmocka_skips LOG: "case reason" per cmocka skip: the line printed between
# "[ RUN      ] case" and "[  SKIPPED ] case" that is not cmocka's own.
cmocka_skips() {
	awk '
		/^\[ RUN      \] / { cur = $4; why = ""; next }
		cur != "" && /^\[  SKIPPED \] / && $4 == cur { print cur, (why == "" ? "-" : why); cur = ""; next }
		cur != "" && /^\[ *(OK|FAILED|ERROR|PASSED) *\] / { cur = ""; next }
		cur != "" && !/^\[[ A-Z=]*\]/ && NF > 0 { why = $0 }' "$1"
}

# skip_parts LOG: "part reason" per skip_part marker a script printed.
skip_parts() {
	sed -n 's/^cadet-test: skip-part \([^ :][^ :]*\): \(.*\)$/\1 \2/p' "$1"
}

run_one() {
	name=$1 path=$2
	log=$logdir/$name.log
	test_id=$run_id/$name
	deadline_s=$(declared_deadline "$(src_of "$name")")
	_holder=$(lock_held_elsewhere)
	snapshot >"$work/before"
	start=$(date +%s)
	case "$name" in
	unit/*) run_bounded "$log" "$deadline_s" env CMOCKA_MESSAGE_OUTPUT=stdout "$path" ;;
	*) run_bounded "$log" "$deadline_s" sh "$path" ;;
	esac
	secs=$(($(date +%s) - start))

	# What the test left: its processes (after a deadline they are part of
	# the kill), then the machine-wide lists.
	: >"$work/left"
	if ! test_ends $leftover_grace_ds; then
		if [ -z "$timed_out" ]; then
			for _p in $(test_pids); do
				echo "process $_p $(tr '\0' ' ' 2>/dev/null <"/proc/$_p/cmdline")(killed)"
			done >"$work/left"
		fi
		end_test >/dev/null
	fi
	[ -z "$_holder" ] && _holder=$(lock_held_elsewhere)
	if [ -z "$_holder" ]; then
		leftovers "$work/before" >>"$work/left"
	elif [ -z "$lock_note" ]; then
		lock_note=yes
		echo "note: $lock is held by another run (pid $_holder): only the tests' own processes are checked for leftovers"
	fi

	why=""
	if [ -n "$timed_out" ]; then
		why="deadline ${deadline_s}s passed: its processes got ${timed_out%, }; ${secs}s"
	elif [ $rc -eq 77 ]; then
		reason=$(awk 'NF > 0 { l = $0 } END { print l }' "$log" | sed 's/^skip\(ped\)\{0,1\}: //')
		[ -n "$reason" ] || why="exit 77 (a skip) without saying why"
	elif [ $rc -ne 0 ]; then
		why="exit $rc, ${secs}s"
	fi
	[ -z "$why" ] && [ -s "$work/left" ] && why="left things behind, ${secs}s"

	if [ -n "$why" ]; then
		failed=$((failed + 1))
		failed_names="$failed_names $name"
		echo "FAIL  $name ($why); last lines of $log:"
		tail -n 30 "$log" | sed 's/^/    /'
	elif [ $rc -eq 77 ]; then
		record_skip "$name" "$reason"
	else
		passed=$((passed + 1))
		echo "PASS  $name (${secs}s)"
	fi
	if [ -s "$work/left" ]; then
		echo "    left behind by $name:"
		sed 's/^/      /' "$work/left"
	fi

	# Parts that skipped inside it, reported like tests.
	case "$name" in
	unit/*) cmocka_skips "$log" ;;
	*) skip_parts "$log" ;;
	esac >"$work/parts"
	while read -r _part _why; do
		if [ "$_why" = - ]; then
			failed=$((failed + 1))
			failed_names="$failed_names $name/$_part"
			echo "FAIL  $name/$_part (skipped without saying why: print the reason before skip())"
		else
			record_skip "$name/$_part" "$_why"
		fi
	done <"$work/parts"
}

while read -r name path; do
	run_one "$name" "$path"
done <"$work/selected"
# An expected skip of a test that ran and did not skip is a stale entry.
while read -r _pat; do
	while read -r _s; do
		# shellcheck disable=SC2254
		case "$_s" in $_pat) continue 2 ;; esac
	done <"$work/skips"
	while read -r _name _path; do
		# shellcheck disable=SC2254
		case "$_name" in $_pat) echo "note: $_pat is in $expected_file but did not skip" && break ;; esac
		case "$_pat" in "$_name"/*) echo "note: $_pat is in $expected_file but did not skip" && break ;; esac
	done <"$work/selected"
done <"$work/expected"
rm -rf "$work"

[ -n "$failed_names" ] && echo "failed:$failed_names"
status=0
[ $failed -eq 0 ] || status=1
if [ -n "$unexpected_skips" ]; then
	if [ "$allow_skips" = 1 ]; then
		echo "skips not in $expected_file (allowed by CADET_ALLOW_SKIPS=1):$unexpected_skips"
	else
		echo "skips not in $expected_file fail the run (CADET_ALLOW_SKIPS=1 allows them):$unexpected_skips"
		status=1
	fi
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
