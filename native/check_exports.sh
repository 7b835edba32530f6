#!/bin/sh
# Check that every function declared in the cdef region of the boo MIOpen
# header is exported (defined, dynamic symbol table) by a shared library.
#   usage: check_exports.sh <miopen.h> <libMIOpen.so.1>
set -eu
header=$1
lib=$2
NM=${NM:-nm}

declared=$(sed -n '/BOO_CDEF_BEGIN/,/BOO_CDEF_END/p' "$header" |
    grep -o 'miopen[A-Za-z0-9_]*[[:space:]]*(' | sed 's/[[:space:]]*($//' | sort -u)
exported=$("$NM" -D --defined-only "$lib" | awk '$2 == "T" || $2 == "W" { print $3 }' | sort -u)

if [ -z "$declared" ]; then
    echo "check_exports: no functions found in $header" >&2
    exit 1
fi

missing=0
count=0
for f in $declared; do
    count=$((count + 1))
    if ! printf '%s\n' "$exported" | grep -qx "$f"; then
        echo "MISSING: $f" >&2
        missing=$((missing + 1))
    fi
done

# Anything exported beyond the header is reported (not an error).
extra=$(printf '%s\n' "$exported" | grep '^miopen' | while read -r s; do
    printf '%s\n' "$declared" | grep -qx "$s" || echo "$s"
done)
[ -n "$extra" ] && echo "note: exported but not declared: $extra"

echo "check_exports: $count declared, $missing missing in $(basename "$lib")"
[ "$missing" -eq 0 ]
