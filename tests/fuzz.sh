#!/bin/sh
# Runs each fuzz target for FUZZTIME (default 3s, one worker: the machine
# is shared) and prints how many inputs each executed. The seed corpora are
# in <package>/testdata/fuzz/<target>/ (plain `go test` runs them too).
set -e
t=${FUZZTIME:-3s}
total=0
for spec in specconv:FuzzConvert specconv:FuzzMountOptions libcontainer:FuzzValidateID \
	libcontainer:FuzzStateLoad cmd/tekapo:FuzzParseSignal libcontainer:FuzzUpdateJSON; do
	pkg=${spec%%:*}
	name=${spec##*:}
	if ! out=$(${GO:-go} test -run '^$' -fuzz "^$name\$" -fuzztime "$t" -parallel 1 "./$pkg/" 2>&1); then
		echo "$out"
		exit 1
	fi
	n=$(echo "$out" | grep -o 'execs: [0-9]*' | tail -1 | awk '{print $2}')
	echo "fuzz $pkg $name: ${n:-0} executions in $t"
	total=$((total + ${n:-0}))
done
echo "fuzz: $total executions in all"
