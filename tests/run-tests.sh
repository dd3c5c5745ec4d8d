#!/bin/sh
# run-tests.sh: runs every unit test program in $BUILD/tests and every
# integration script in tests/integration, then prints one closing line
# "N passed, N failed, N skipped". A script that exits 77 was skipped (it
# prints why); anything else non-zero failed. TESTS=pattern runs a subset.
set -u
BUILD=${BUILD:-build}
export BUILD
pattern=${TESTS:-}
passed=0 failed=0 skipped=0 failed_names=""
logdir=$BUILD/test-logs
mkdir -p "$logdir/unit" "$logdir/integration" # test names are unit/NAME, integration/NAME

run_one() {
	name=$1
	shift
	case "$name" in *"$pattern"*) ;; *) return 0 ;; esac
	start=$(date +%s)
	"$@" >"$logdir/$name.log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		echo "PASS  $name (${secs}s)"
	elif [ $rc -eq 77 ]; then
		skipped=$((skipped + 1))
		echo "SKIP  $name: $(tail -n 1 "$logdir/$name.log")"
	else
		failed=$((failed + 1))
		failed_names="$failed_names $name"
		echo "FAIL  $name (exit $rc, ${secs}s); last lines of $logdir/$name.log:"
		tail -n 30 "$logdir/$name.log" | sed 's/^/    /'
	fi
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run_one "unit/$(basename "$t")" "$t"
done
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	run_one "integration/$(basename "$t" .sh)" sh "$t"
done

[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
