#!/usr/bin/env bash
# Prints the path of a CPython interpreter of the wanted minor version (e.g. 3.10).
# Looks on PATH first, then in pyenv's versions, since Rasa 3.6 needs 3.10 which
# these machines carry only through pyenv.
set -euo pipefail
want="$1"
for candidate in "python${want}" ; do
    if path="$(command -v "$candidate" 2>/dev/null)" && "$path" -c 'import sys' 2>/dev/null; then
        echo "$path"; exit 0
    fi
done
root="${PYENV_ROOT:-$HOME/.pyenv}"
for dir in $(ls -d "$root"/versions/"$want".* 2>/dev/null | sort -V -r); do
    if [ -x "$dir/bin/python$want" ]; then echo "$dir/bin/python$want"; exit 0; fi
done
echo "error: no Python $want found on PATH or under $root/versions" >&2
exit 1
