#!/bin/sh
# Run every test ELF under an emulator and print a summary.
#   run.sh EMULATOR_CMD...
# The command gets "-kernel build/<test>.elf" appended, e.g.
#   ./run.sh qemu-system-riscv64 -M virt -m 128M -smp 1 -nographic -bios none
#   ./run.sh target/release/rewind -M virt -m 128M -nographic -bios none
# Environment: TESTS="rv64i fp" to select tests, TIMEOUT (default 10 s),
# BUILD (default: build/ next to this script), VERBOSE=1 to show all output.
if [ $# -eq 0 ]; then
    echo "usage: $0 EMULATOR_CMD..." >&2
    exit 2
fi
dir=$(cd "$(dirname "$0")" && pwd)
build=${BUILD:-$dir/build}
timeout_s=${TIMEOUT:-10}
if [ -z "$TESTS" ]; then
    TESTS=$(for f in "$build"/*.elf; do basename "$f" .elf; done)
fi
npass=0
nfail=0
failed=""
for t in $TESTS; do
    elf="$build/$t.elf"
    if [ ! -f "$elf" ]; then
        echo "MISSING $t ($elf; run make)"
        nfail=$((nfail + 1)); failed="$failed $t"
        continue
    fi
    out=$(timeout "$timeout_s" "$@" -kernel "$elf" </dev/null 2>&1)
    rc=$?
    if [ $rc -eq 0 ] && printf '%s\n' "$out" | grep -q "^PASS $t\b"; then
        line=$(printf '%s\n' "$out" | grep "^PASS $t" | tr -d '\r')
        echo "ok   $line"
        npass=$((npass + 1))
        [ -n "$VERBOSE" ] && printf '%s\n' "$out"
    else
        if [ $rc -eq 124 ]; then why="timeout after ${timeout_s}s"; else why="exit code $rc"; fi
        echo "FAIL $t ($why)"
        printf '%s\n' "$out" | tr -d '\r' | sed 's/^/     | /' | tail -n 40
        nfail=$((nfail + 1)); failed="$failed $t"
    fi
done
echo "summary: $npass passed, $nfail failed${failed:+ (}${failed# }${failed:+)}"
[ $nfail -eq 0 ]
