#!/bin/sh
# fuzz/run.sh — runs one libFuzzer target for `make fuzz`.
#
# Usage: sh fuzz/run.sh TARGET BINARY SECONDS WORKDIR
#
# Fuzzes on WORKDIR/corpus/TARGET, a scratch corpus that fuzz/corpus/TARGET
# is copied into (new inputs stay there, never in the repository), with
# fuzz/dict/TARGET.dict when there is one. Crash, leak, timeout and OOM
# inputs land in WORKDIR/crashes/TARGET/, the log in WORKDIR/logs/TARGET.log.
# Prints one line and writes it to WORKDIR/results/TARGET; exits 0 either
# way: the caller decides from the line (": CRASH", ": FAILED").
set -u
t=$1 bin=$2 secs=$3 work=$4

corpus=$work/corpus/$t
crashes=$work/crashes/$t
log=$work/logs/$t.log
result=$work/results/$t
mkdir -p "$corpus" "$crashes" "$work/logs" "$work/results"
rm -f "$result"
# The seeds, refreshed on every run (names starting with '.' skipped).
for f in fuzz/corpus/"$t"/*; do
	[ -f "$f" ] && cp "$f" "$corpus/"
done
dict=
[ -f "fuzz/dict/$t.dict" ] && dict="-dict=fuzz/dict/$t.dict"

# What libFuzzer leaves for a failure (slow-unit-* files are no failure).
failures() {
	ls "$crashes" | grep -c '^\(crash\|leak\|timeout\|oom\)-'
}
before=$(failures)
# shellcheck disable=SC2086
"$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=20 \
	-rss_limit_mb=2048 -artifact_prefix="$crashes/" $dict "$corpus" \
	>"$log" 2>&1
rc=$?
after=$(failures)

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
[ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
[ -n "$execs" ] || execs="?"
[ -n "$speed" ] || speed="?"
units=$(ls "$corpus" | wc -l)

if [ "$rc" -eq 0 ] && [ "$after" -eq "$before" ]; then
	line="$t: $execs execs in ${secs}s ($speed/s), corpus $units inputs, no crash"
elif [ "$after" -gt "$before" ]; then
	new=$(ls -t "$crashes" | grep '^\(crash\|leak\|timeout\|oom\)-' | head -n 1)
	line="$t: CRASH after $execs execs: $crashes/$new (log: $log)"
else
	line="$t: FAILED to run (exit $rc; log: $log)"
	tail -n 20 "$log" >&2
fi
echo "$line" >"$result"
echo "$line"
exit 0
