# jsonflat.awk - flatten one JSON document into "PATH<TAB>VALUE" lines.
#
# SYNOPSIS
#	awk -f jsonflat.awk < document
#
# DESCRIPTION
#	A strict RFC 8259 reader for test scripts on machines without jq or
#	python.  The input must hold exactly one JSON value (whitespace
#	around it is allowed); anything else is an error.  Each scalar is
#	printed with its path: object members as .NAME, array elements as
#	.INDEX, so {"a": [{"b": 1}]} gives ".a.0.b<TAB>1".  Strings are
#	decoded; \uXXXX escapes of printable ASCII become the character,
#	others (and decoded controls) are kept as the escape text so that one
#	value stays on one line.  Arrays also print ".PATH.#<TAB>COUNT".
#
# DIAGNOSTICS
#	On a syntax error prints "!error<TAB>what, at offset N" and exits 2.
#	Works with mawk, gawk and busybox awk (no gawk extensions).

BEGIN {
	doc = ""
	hex = "0123456789abcdef"
}

{
	doc = doc $0 "\n"
}

END {
	pos = 1
	len = length(doc)
	failed = 0
	skip_ws()
	parse_value("")
	skip_ws()
	if (!failed && pos <= len)
		fail("trailing data after the JSON value")
	exit failed ? 2 : 0
}

function fail(msg) {
	if (!failed)
		printf "!error\t%s, at offset %d\n", msg, pos - 1
	failed = 1
	pos = len + 1
}

function skip_ws(   c) {
	while (pos <= len) {
		c = substr(doc, pos, 1)
		if (c != " " && c != "\t" && c != "\n" && c != "\r")
			break
		pos++
	}
}

function emit(path, value) {
	if (!failed)
		printf "%s\t%s\n", path, value
}

function parse_value(path,   c) {
	if (failed)
		return
	if (depth++ > 64) {
		fail("nesting too deep")
		return
	}
	c = substr(doc, pos, 1)
	if (c == "{")
		parse_object(path)
	else if (c == "[")
		parse_array(path)
	else if (c == "\"")
		emit(path, parse_string())
	else if (substr(doc, pos, 4) == "true") {
		pos += 4
		emit(path, "true")
	} else if (substr(doc, pos, 5) == "false") {
		pos += 5
		emit(path, "false")
	} else if (substr(doc, pos, 4) == "null") {
		pos += 4
		emit(path, "null")
	} else if (c ~ /[-0-9]/)
		emit(path, parse_number())
	else
		fail("unexpected character")
	depth--
}

function parse_object(path,   key, c) {
	pos++
	skip_ws()
	if (substr(doc, pos, 1) == "}") {
		pos++
		return
	}
	for (;;) {
		skip_ws()
		if (substr(doc, pos, 1) != "\"") {
			fail("object key expected")
			return
		}
		key = parse_string()
		skip_ws()
		if (substr(doc, pos, 1) != ":") {
			fail("':' expected")
			return
		}
		pos++
		skip_ws()
		parse_value(path "." key)
		if (failed)
			return
		skip_ws()
		c = substr(doc, pos, 1)
		pos++
		if (c == "}")
			return
		if (c != ",") {
			fail("',' or '}' expected")
			return
		}
	}
}

function parse_array(path,   n, c) {
	pos++
	n = 0
	skip_ws()
	if (substr(doc, pos, 1) == "]") {
		pos++
		emit(path ".#", 0)
		return
	}
	for (;;) {
		skip_ws()
		parse_value(path "." n)
		if (failed)
			return
		n++
		skip_ws()
		c = substr(doc, pos, 1)
		pos++
		if (c == "]")
			break
		if (c != ",") {
			fail("',' or ']' expected")
			return
		}
	}
	emit(path ".#", n)
}

function parse_number(   start) {
	start = pos
	if (!match(substr(doc, pos), /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/)) {
		fail("bad number")
		return ""
	}
	pos += RLENGTH
	return substr(doc, start, RLENGTH)
}

function hexval(s,   i, v, d) {
	v = 0
	s = tolower(s)
	for (i = 1; i <= 4; i++) {
		d = index(hex, substr(s, i, 1))
		if (d == 0)
			return -1
		v = v * 16 + d - 1
	}
	return v
}

function parse_string(   out, c, e, u) {
	pos++
	out = ""
	while (pos <= len) {
		c = substr(doc, pos, 1)
		if (c == "\"") {
			pos++
			return out
		}
		if (c == "\\") {
			e = substr(doc, pos + 1, 1)
			pos += 2
			if (e == "\"" || e == "\\" || e == "/")
				out = out e
			else if (e == "b" || e == "f" || e == "n" || e == "r" ||
			    e == "t")
				out = out "\\" e
			else if (e == "u") {
				u = hexval(substr(doc, pos, 4))
				if (u < 0) {
					fail("bad \\u escape")
					return ""
				}
				if (u >= 32 && u < 127)
					out = out sprintf("%c", u)
				else
					out = out "\\u" substr(doc, pos, 4)
				pos += 4
			} else {
				fail("bad escape")
				return ""
			}
			continue
		}
		if (c < " ") {
			fail("raw control character in string")
			return ""
		}
		out = out c
		pos++
	}
	fail("unterminated string")
	return ""
}
