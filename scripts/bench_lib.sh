# Helpers shared by the bench scripts (sourced, not run).
# minof KEY FILE...: the least value on lines "KEY value".
minof() { awk -v k="$1" '$1 == k && (m == "" || $2 < m) { m = $2 } END { print m }' "${@:2}"; }
# field KEY [FILE]: every value on lines "KEY value", in order (stdin without FILE).
field() { awk -v k="$1" '$1 == k { print $2 }' "${@:2}"; }
# calc FORMAT EXPR: EXPR evaluated by awk, printed with FORMAT.
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
