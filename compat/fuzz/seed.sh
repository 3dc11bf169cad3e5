#!/usr/bin/env bash
# Seeds corpus/<target>/ with the shared test vectors, compacted (whitespace outside strings
# removed; member order, number spelling and string escapes kept as written).
#
#   compat/fuzz/seed.sh            # vectors from ../../shared/spec (or $OW_SPEC_DIR)
#   cargo +nightly fuzz run kafka_messages -- -dict=dict/ow.dict -max_total_time=150
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
spec="${OW_SPEC_DIR:-$here/../../../shared/spec}"
vectors="$spec/vectors"
[[ -d "$vectors" ]] || { echo "seed.sh: no vectors at $vectors (set OW_SPEC_DIR)" >&2; exit 1; }

declare -A family=(
  [kafka_messages]="07 08 50 51 52 53 54 55 56 57 58 60 62 63 64"
  [etcd_values]="40 41 43 44 48 49 65 66 67 68"
  [documents]="04 06 13 14 15 16 17 18 20 21 22 23 24 25 26 28 29 31 36"
  [runtime_bodies]="01 02 03 71 72 73 74 77 78"
)

for target in "${!family[@]}"; do
  out="$here/corpus/$target"
  mkdir -p "$out"
  for n in ${family[$target]}; do
    for f in "$vectors/$n"-*.json; do
      [[ -e "$f" ]] || { echo "seed.sh: vector $n missing" >&2; continue; }
      python3 - "$f" "$out" <<'PY'
import json, os, sys

src, out = sys.argv[1], sys.argv[2]
text = open(src, encoding="utf-8").read()

def compact(s):
    """Drops whitespace outside strings; everything else is kept byte for byte."""
    res, in_str, esc = [], False, False
    for c in s:
        if in_str:
            res.append(c)
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            res.append(c)
        elif c not in " \t\r\n":
            res.append(c)
    return "".join(res)

name = os.path.basename(src)[:-len(".json")]
docs = [(name, compact(text))]
# The gRPC FetchResponse wrapper carries the fetch answer as a string: seed that too.
try:
    inner = json.loads(text).get("activationMessage")
    if isinstance(inner, str):
        docs.append((name + "-inner", inner))
except (ValueError, AttributeError):
    pass
for doc_name, doc in docs:
    with open(os.path.join(out, doc_name), "w", encoding="utf-8") as f:
        f.write(doc)
PY
    done
  done
  echo "seed.sh: $(ls "$out" | wc -l) inputs in corpus/$target"
done
