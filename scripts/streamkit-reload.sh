#!/bin/sh
# streamkit-reload.sh: the --on-change command that hands each new build of a plugin
# to a running StreamKit over its HTTP API.
#
#   plugwatch run --root ~/src/myplugins/.plugins --on-change 'sh scripts/streamkit-reload.sh'
#
# It reads plugwatch's events, one JSON object per line, on standard input and, in
# their order, for each event
#   loaded, reloaded, unloaded  unloads the kind from StreamKit:
#                               DELETE /api/v1/plugins/{kind}?keep_file=true
#                               (StreamKit answering that the kind is not loaded is
#                               fine: there was nothing to replace)
#   loaded, reloaded            then uploads the event's library:
#                               POST /api/v1/plugins, multipart/form-data, the
#                               library in the field "plugin" and the kind in "kind"
# and ignores every other event (skipped, problem, resolved). A `loaded` unloads
# first too: a StreamKit that already holds the kind (uploaded before plugwatch
# restarted) refuses a second load of it, and drops the file it stores.
#
# StreamKit stores what it is sent in its own plugins folder, so plugwatch's root must
# be the developer's build root, never StreamKit's plugins folder. StreamKit accepts
# these requests only with `allow_http_management = true` in the [plugins] section of
# its configuration.
#
# Environment:
#   STREAMKIT_URL    StreamKit's base address (default http://127.0.0.1:4545)
#   STREAMKIT_TOKEN  an API token, sent as "Authorization: Bearer ..." (needed when
#                    StreamKit's built-in authentication is on); never on a command line
#
# One line on standard error per action and per failure. Exits 1 when a request
# failed or an input line was not an event, else 0. Needs only sh, awk and curl.

me=streamkit-reload
# say TEXT: one line on standard error (printf, as echo would expand backslashes).
say() { printf '%s\n' "$me: $*" >&2; }

base=${STREAMKIT_URL:-http://127.0.0.1:4545}
while :; do
	case $base in
	*/) base=${base%/} ;;
	*) break ;;
	esac
done

if ! command -v curl >/dev/null 2>&1; then
	say "curl is not installed; install it to send plugins to StreamKit"
	exit 1
fi

body=$(mktemp) && errs=$(mktemp) && headers=$(mktemp) || {
	say "cannot create a temporary file"
	exit 1
}
trap 'rm -f "$body" "$errs" "$headers"' EXIT
trap 'exit 1' HUP INT TERM
if [ -n "${STREAMKIT_TOKEN:-}" ]; then
	# A header file (mode 600, as mktemp makes it) keeps the token out of ps.
	printf 'Authorization: Bearer %s\n' "$STREAMKIT_TOKEN" >"$headers"
fi

failed=0

# request ARGS...: run curl with ARGS against StreamKit; sets $status to the HTTP
# status (000 when there was no answer) and $body holds the answer.
request() {
	: >"$body"
	status=$(curl -sS --connect-timeout 5 --max-time 300 -H "@$headers" \
		-o "$body" -w '%{http_code}' "$@" </dev/null 2>"$errs")
	rc=$?
	[ -n "$status" ] || status=000
	return $rc
}

# why: what went wrong with the last request, on one line.
why() {
	if [ "$rc" -ne 0 ]; then
		printf 'the request to %s failed: %s' "$base" "$(tr '\n' ' ' <"$errs" | cut -c1-300)"
		return
	fi
	printf 'StreamKit answered %s: %s' "$status" "$(tr '\r\n' '  ' <"$body" | cut -c1-300)"
	case $status in
	401) printf ' (set STREAMKIT_TOKEN to an API token)' ;;
	esac
}

# unload KIND PATHKIND: DELETE the kind; 0 when StreamKit no longer holds it.
unload() {
	request -X DELETE "$base/api/v1/plugins/$2?keep_file=true"
	if [ "$rc" -eq 0 ] && [ "$status" = 200 ]; then
		say "unloaded $1 from StreamKit (its file kept)"
		return 0
	fi
	if [ "$rc" -eq 0 ] && [ "$status" = 422 ] && grep -q 'is not currently loaded' "$body"; then
		say "$1 was not loaded in StreamKit"
		return 0
	fi
	return 1
}

# upload KIND LIBRARY: POST the library as the multipart field "plugin".
upload() {
	# curl -F takes a quoted file name literally but for \ and ", which are escaped.
	q=$(printf '%s' "$2" | sed 's/[\\"]/\\&/g')
	n=$(basename -- "$2" | sed 's/[\\"]/\\&/g')
	request -F "plugin=@\"$q\";filename=\"$n\"" --form-string "kind=$1" "$base/api/v1/plugins"
	if [ "$rc" -eq 0 ] && [ "$status" = 201 ]; then
		say "uploaded $2 to StreamKit as $1"
		return 0
	fi
	return 1
}

# handle EVENT KIND LIBRARY PATHKIND: one event, called for each line of the input.
handle() {
	case $1 in
	loaded | reloaded | unloaded) ;;
	*) return 0 ;;
	esac
	if [ -z "$2" ]; then
		say "a $1 event without a kind; skipped"
		failed=1
		return 0
	fi
	if [ "$1" != unloaded ] && ! { [ -f "$3" ] && [ -r "$3" ]; }; then
		# Gone again already, or never named: StreamKit keeps what it has.
		say "cannot read the library ${3:-(none named)} of $2; StreamKit was left as it was"
		failed=1
		return 0
	fi
	if ! unload "$2" "$4"; then
		case $1 in
		unloaded) say "unloading $2 failed: $(why)" ;;
		*) say "unloading $2 failed, so $3 was not uploaded: $(why)" ;;
		esac
		failed=1
		return 0
	fi
	[ "$1" = unloaded ] && return 0
	if ! upload "$2" "$3"; then
		say "uploading $3 failed, StreamKit has no $2 now: $(why)"
		failed=1
	fi
}

# bad_input N: line N of the input is not a JSON object.
bad_input() {
	say "line $1 of the input is not a JSON event; skipped"
	failed=1
}

# The events become shell commands, one per line of input: handle EVENT KIND LIBRARY
# PATHKIND, each argument single-quoted, JSON escapes decoded, PATHKIND the kind
# percent-encoded for a URL path. Field order, spaces, quotes and newlines in paths do
# not matter. The C locale makes awk count and print bytes.
cmds=$(LC_ALL=C awk '
BEGIN {
	hex = "0123456789abcdef"
	for (i = 1; i < 256; i++) ord[sprintf("%c", i)] = i
}

function fail() { ok = 0; p = len + 1 }

function ws() { while (p <= len && index(" \t\r\n", substr(s, p, 1))) p++ }

function hexval(h,    i, v, d) {
	v = 0
	for (i = 1; i <= 4; i++) {
		d = index(hex, tolower(substr(h, i, 1)))
		if (d == 0) return -1
		v = v * 16 + d - 1
	}
	return v
}

function utf8(c) {
	if (c < 128) return sprintf("%c", c)
	if (c < 2048) return sprintf("%c%c", 192 + int(c / 64), 128 + c % 64)
	if (c < 65536) return sprintf("%c%c%c", 224 + int(c / 4096), 128 + int(c / 64) % 64, 128 + c % 64)
	return sprintf("%c%c%c%c", 240 + int(c / 262144), 128 + int(c / 4096) % 64, 128 + int(c / 64) % 64, 128 + c % 64)
}

# str: the JSON string at p (its opening quote), decoded; p moves past it.
function str(    out, c, e, u, lo, rest) {
	out = ""
	p++
	while (p <= len) {
		rest = substr(s, p)
		if (match(rest, /^[^"\\]+/)) {
			out = out substr(rest, 1, RLENGTH)
			p += RLENGTH
			continue
		}
		c = substr(s, p, 1)
		if (c == "\"") { p++; return out }
		e = substr(s, p + 1, 1)
		p += 2
		if (e == "n") out = out "\n"
		else if (e == "t") out = out "\t"
		else if (e == "r") out = out "\r"
		else if (e == "b") out = out "\b"
		else if (e == "f") out = out "\f"
		else if (e == "/" || e == "\\" || e == "\"") out = out e
		else if (e == "u") {
			u = hexval(substr(s, p, 4))
			if (u < 0) { fail(); return "" }
			p += 4
			if (u >= 55296 && u < 56320 && substr(s, p, 2) == "\\u") {
				lo = hexval(substr(s, p + 2, 4))
				if (lo >= 56320 && lo < 57344) {
					u = 65536 + (u - 55296) * 1024 + (lo - 56320)
					p += 6
				}
			}
			if (u == 0) { fail(); return "" }
			out = out utf8(u)
		} else { fail(); return "" }
	}
	fail()
	return ""
}

# skip: a value that is not a string (number, true, false, null, object, array).
function skip(    depth, c) {
	depth = 0
	while (p <= len) {
		c = substr(s, p, 1)
		if (c == "\"") { str(); continue }
		if (c == "{" || c == "[") depth++
		else if (c == "}" || c == "]") {
			if (depth == 0) return
			depth--
		} else if (c == "," && depth == 0) return
		p++
	}
}

function q(v,    n, parts, i, out) {
	n = split(v, parts, "\047")
	out = parts[1]
	for (i = 2; i <= n; i++) out = out "\047\\\047\047" parts[i]
	return "\047" out "\047"
}

function pathenc(v,    i, c, out) {
	out = ""
	for (i = 1; i <= length(v); i++) {
		c = substr(v, i, 1)
		if (c ~ /[A-Za-z0-9_.~:-]/) out = out c
		else out = out sprintf("%%%02X", ord[c])
	}
	return out
}

{
	s = $0; len = length(s); p = 1; ok = 1
	split("", f)
	ws()
	if (p > len) next # a blank line
	if (substr(s, p, 1) != "{") fail()
	p++
	ws()
	if (ok && substr(s, p, 1) == "}") p++
	else while (ok) {
		ws()
		if (substr(s, p, 1) != "\"") { fail(); break }
		k = str()
		ws()
		if (substr(s, p, 1) != ":") { fail(); break }
		p++
		ws()
		if (substr(s, p, 1) == "\"") f[k] = str()
		else skip()
		ws()
		c = substr(s, p, 1)
		p++
		if (c == "}") break
		if (c != ",") fail()
	}
	ws()
	if (!ok || p <= len) { print "bad_input " NR; next }
	print "handle " q(f["event"]) " " q(f["kind"]) " " q(f["library"]) " " q(pathenc(f["kind"]))
}
') || {
	say "cannot read the events on standard input"
	exit 1
}
eval "$cmds"
exit $failed
