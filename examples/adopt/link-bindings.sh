#!/bin/sh
# Usage: sh link-bindings.sh generated.tf
#
# Makes the bindings that `terraform query -generate-config-out` wrote refer
# to their policies: in each iotda_device_policy_binding block, a literal
# policy_id that a generated iotda_device_policy imports becomes
# iotda_device_policy.<name>.id, so the binding follows its policy (ordered
# after it, replaced with it). The file is rewritten in place; the next plan
# still shows only imports.
set -eu
file=${1:?usage: sh link-bindings.sh generated.tf}
tmp="$file.tmp.$$"
awk '
	# First pass: the policy id each iotda_device_policy import block names.
	FNR == NR {
		if ($0 ~ /^import \{/) { to = "" }
		if ($1 == "to" && $3 ~ /^iotda_device_policy\./) { to = $3 }
		if (to != "" && $1 == "policy_id") { id = $3; gsub(/"/, "", id); policy[id] = to; to = "" }
		next
	}
	# Second pass: replace the literal in binding resource blocks.
	/^resource "iotda_device_policy_binding" / { binding = 1 }
	/^}/ { binding = 0 }
	binding && $1 == "policy_id" && $3 ~ /^"[0-9a-f]+"$/ {
		id = $3; gsub(/"/, "", id)
		if (id in policy) { sub(/"[0-9a-f]+"/, policy[id] ".id") }
	}
	{ print }
' "$file" "$file" >"$tmp"
mv "$tmp" "$file"
