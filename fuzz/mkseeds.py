#!/usr/bin/env python3
"""mkseeds.py - write the seed corpora of the text and wire-format targets.

    python3 fuzz/mkseeds.py [fuzz/corpus]

Most seeds are binary (DNS messages, NUL bytes, 64 KiB records), so they
are generated here rather than written by hand; the files are committed and
this script only needs to run again when a seed is added.  Each seed is a
valid input, a near miss, or the shape of a bug once found in comparable
software (OpenDMARC, OpenDKIM, libspf2, c-ares); see docs/fuzzing.md.
fuzz_storecodec's seeds come from the record encoder (see fuzz/README.md) and
are not written here.
"""
import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("latin-1")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- DMARC
def dmarc():
    t = "fuzz_dmarc"
    put(t, "seed-minimal", "v=DMARC1; p=none;")
    put(t, "all-tags",
        "v=DMARC1; p=reject; sp=quarantine; np=reject; adkim=s; aspf=r; "
        "pct=50; fo=0:1:d:s; rf=afrf; ri=86400; "
        "rua=mailto:a@example.com,mailto:b@example.net!10m; "
        "ruf=mailto:f@example.com; psd=n; t=y")
    put(t, "opendmarc-empty-p", "v=DMARC1; p=")
    put(t, "tags-without-values", "v=DMARC1; p; sp; rua; ruf=; pct; =; ;=x")
    put(t, "huge-rua", "v=DMARC1; p=none; rua=" + ",".join(
        "mailto:r%d@example%d.com!%dk" % (i, i, i) for i in range(600)))
    put(t, "nul-in-middle", b"v=DMARC1; p=no\0ne; rua=mailto:a@\0.com")
    put(t, "two-records", "v=DMARC1;p=none\nv=DMARC1;p=reject")
    put(t, "spf-then-dmarc", "v=spf1 -all\nv=DMARC1; p=quarantine; sp=none")
    put(t, "out-of-range", "v=DMARC1; p=none; pct=101; ri=99999999999; "
        "adkim=x; fo=z")
    put(t, "case-blanks", "V = DMARC1 ; P = None ;;; PCT=007 ;")
    put(t, "controls", b"v=DMARC1;\tp=none;\r\n\x7f\xff\xfe")
    # RFC 9989: leniencies, removed tags, test mode, the tree walk
    put(t, "rfc9989-rua-no-p", "v=DMARC1; rua=mailto:d@example.com")
    put(t, "rfc9989-lenient", "v=DMARC1; adkim=x; aspf=; p=reject; "
        "rua=junk,mailto:d@example.com,; rua=mailto:e@example.com; "
        "pct=0; pct=5.5; rf=iodef; ri=1h")
    put(t, "rfc9989-strict-align", "v=DMARC1; p=reject; aspf=s; adkim=s")
    put(t, "rfc9989-test-mode", "v=DMARC1; p=reject; np=quarantine; t=y")
    put(t, "rfc9989-walk-psd", "\n\n\n\nv=DMARC1; p=none\n"
        "v=DMARC1; p=reject; psd=y\nv=DMARC1; p=none; psd=n")
    put(t, "rfc9989-walk-psd-n", "v=DMARC1; p=none; psd=n")
    put(t, "rfc9989-walk-temp", "\n\nv=DMARC1; p=reject\n!")
    put(t, "rfc9989-walk-many", "v=DMARC1;p=none\nv=DMARC1;p=reject\n"
        "\n\n\n\nv=DMARC1; p=none; psd=y\nv=DMARC1; p=none")


# ---------------------------------------------------------------- DKIM
def dkim(keys):
    t = "fuzz_dkim"

    def key(n):
        try:
            with open(os.path.join(keys, n)) as f:
                return "".join(f.read().split())
        except OSError:
            return "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC"
    rsa1024, rsa2048 = key("rsa1024.p"), key("rsa2048.p")
    rsa512, ed = key("rsa512.p"), key("ed25519.p")
    put(t, "rsa1024", "v=DKIM1; k=rsa; p=" + rsa1024)
    put(t, "rsa2048-all-tags",
        "v=DKIM1; h=sha1:sha256; k=rsa; s=email:*; t=y:s; n=note; p=" +
        rsa2048)
    put(t, "rsa512-too-small", "v=DKIM1; p=" + rsa512)
    put(t, "ed25519", "v=DKIM1; k=ed25519; p=" + ed)
    put(t, "revoked", "v=DKIM1; k=rsa; p=")
    # p= split by FWS, as TXT strings often are when pasted
    half = len(rsa2048) // 2
    put(t, "fws-split", "v=DKIM1;\r\n\tk=rsa;  p=" + rsa2048[:half] +
        "\r\n " + rsa2048[half:] + " ;")
    # a bare PKCS#1 RSAPublicKey (the SPKI header cut off)
    put(t, "pkcs1", "v=DKIM1; p=" + rsa1024[32:])
    put(t, "tags-without-values", "v=DKIM1; k; p")
    put(t, "empty-tags", ";;; ;")
    put(t, "nul-in-middle", b"v=DKIM1; p=MIGf\0MA0G")
    # OpenDKIM over-read a 64 KiB key record assembled from many strings
    put(t, "huge-p", "v=DKIM1; p=" + "A" * 65000)
    put(t, "bad-base64", "v=DKIM1; p=MIG=fMA0=GCSq==")
    put(t, "two-records", "v=DKIM1; p=\nv=DKIM1; k=ed25519; p=" + ed)


# ---------------------------------------------------------------- DNS
TXT, MX, A, AAAA, PTR, CNAME = 16, 15, 1, 28, 12, 5
SEL = {TXT: 0, MX: 1, A: 2, AAAA: 3, PTR: 4, CNAME: 5}


def wname(name):
    out = b""
    for label in name.split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def header(qd=1, an=0, rcode=0, flags=0x8180, qid=0x1234):
    return struct.pack(">HHHHHH", qid, (flags & 0xfff0) | rcode, qd, an, 0,
                       0)


def question(qtype, name="a.example"):
    return wname(name) + struct.pack(">HH", qtype, 1)


def rr(owner, rtype, rdata, ttl=300):
    return owner + struct.pack(">HHIH", rtype, 1, ttl, len(rdata)) + rdata


def txt_rdata(*strings):
    out = b""
    for s in strings:
        s = s.encode() if isinstance(s, str) else s
        out += bytes([len(s)]) + s
    return out


PTR_Q = b"\xc0\x0c"  # pointer to the question name at offset 12


def msg(qtype, answers, hops=0, **kw):
    body = header(an=len(answers), **kw) + question(qtype) + b"".join(answers)
    return bytes([SEL[qtype] | (hops << 4)]) + body


def dnsmsg():
    t = "fuzz_dnsmsg"
    put(t, "txt-spf", msg(TXT, [rr(PTR_Q, TXT, txt_rdata("v=spf1 ",
                                                         "-all"))]))
    put(t, "txt-dmarc", msg(TXT, [rr(PTR_Q, TXT,
                                     txt_rdata("v=DMARC1; p=none;"))]))
    put(t, "txt-dkim-split", msg(TXT, [rr(PTR_Q, TXT,
                                          txt_rdata("v=DKIM1; p=aaaaaa",
                                                    "bbbbb"))]))
    put(t, "txt-two-records", msg(TXT, [
        rr(PTR_Q, TXT, txt_rdata("v=DMARC1; p=none")),
        rr(PTR_Q, TXT, txt_rdata("v=DMARC1; p=reject"))]))
    # OpenDKIM: a 64 KiB TXT answer over TCP, in many strings
    big = txt_rdata(*[bytes([65 + i % 26]) * 255 for i in range(254)])
    put(t, "txt-64k-tcp", msg(TXT, [rr(PTR_Q, TXT, big)]))
    put(t, "txt-empty-strings", msg(TXT, [rr(PTR_Q, TXT,
                                             b"\0\0\0" + txt_rdata("p="))]))
    put(t, "txt-string-past-rdlength",
        msg(TXT, [rr(PTR_Q, TXT, b"\x20abc")]))
    put(t, "txt-nul", msg(TXT, [rr(PTR_Q, TXT, txt_rdata(b"v=spf1\0-all"))]))
    mx1 = struct.pack(">H", 10) + wname("feedback-smtp.example.net")
    put(t, "mx-two", msg(MX, [
        rr(PTR_Q, MX, mx1),
        rr(PTR_Q, MX, struct.pack(">H", 20) + b"\x02mx\xc0\x0c")]))
    put(t, "mx-null", msg(MX, [rr(PTR_Q, MX, b"\0\0\0")]))
    put(t, "mx-short", msg(MX, [rr(PTR_Q, MX, b"\0")]))
    put(t, "a", msg(A, [rr(PTR_Q, A, bytes([192, 0, 2, 1])),
                        rr(PTR_Q, A, bytes([192, 0, 2, 2]))]))
    put(t, "a-wrong-length", msg(A, [rr(PTR_Q, A, bytes([192, 0, 2]))]))
    put(t, "aaaa", msg(AAAA, [rr(PTR_Q, AAAA, bytes([0x20, 1, 0xd, 0xb8]) +
                                 bytes(11) + b"\1")]))
    put(t, "ptr", msg(PTR, [rr(PTR_Q, PTR, wname("host.example.net"))]))
    put(t, "cname-only", msg(CNAME, [rr(PTR_Q, CNAME, wname("b.example"))]))
    # a.example CNAME b.example; b.example TXT
    bname = wname("b.example")
    ans = [rr(PTR_Q, CNAME, bname)]
    # b.example's wire name starts at the RDATA of the first answer:
    # 12 (header) + 15 (question) + 12 (owner pointer and fixed fields)
    ans.append(rr(b"\xc0\x27", TXT, txt_rdata("v=spf1 -all")))
    put(t, "cname-chain", msg(TXT, ans))
    put(t, "cname-pending", msg(TXT, [rr(PTR_Q, CNAME, bname)], hops=3))
    put(t, "cname-loop", msg(TXT, [rr(PTR_Q, CNAME, bname),
                                   rr(b"\xc0\x27", CNAME, b"\xc0\x0c")]))
    put(t, "cname-too-many-hops", msg(TXT, [rr(PTR_Q, CNAME, bname)],
                                      hops=15))
    # c-ares: hostile names
    put(t, "compression-self-loop", msg(TXT, [rr(b"\xc0\x1b", TXT,
                                                 txt_rdata("x"))]))
    put(t, "compression-forward", msg(MX, [rr(PTR_Q, MX,
                                              b"\0\x0a\xc0\x30\x01x\0")]))
    put(t, "compression-pointer-loop-pair",
        msg(PTR, [rr(PTR_Q, PTR, b"\xc0\x29\xc0\x27")]))
    put(t, "label-zero-in-middle", msg(PTR, [rr(PTR_Q, PTR,
                                               b"\x01a\x00\x01b\x00")]))
    put(t, "label-types-40-80", msg(PTR, [rr(PTR_Q, PTR,
                                            b"\x41" + b"x" * 65 + b"\0")]))
    put(t, "name-over-255", msg(PTR, [rr(PTR_Q, PTR,
                                        (b"\x3f" + b"y" * 63) * 4 + b"\0")]))
    rd = rr(PTR_Q, TXT, txt_rdata("v=spf1 -all"))
    put(t, "rdlength-past-end", msg(TXT, [rd[:-4]]))
    m = bytearray(msg(TXT, [rd]))
    m[1 + 6:1 + 8] = b"\xff\xff"  # ANCOUNT 65535
    put(t, "ancount-huge", bytes(m))
    put(t, "nxdomain", msg(TXT, [], rcode=3))
    put(t, "servfail", msg(TXT, [], rcode=2))
    put(t, "rcode-formerr", msg(TXT, [], rcode=1))
    put(t, "truncated-tc", msg(TXT, [rd], flags=0x8380))
    put(t, "query-not-response", msg(TXT, [rd], flags=0x0100))
    m = bytes([0]) + header(an=1) + question(TXT, "other.example") + rd
    put(t, "question-mismatch", m)
    # sortlist-ish garbage: ASCII where the answer should be
    put(t, "sortlist-garbage",
        bytes([0]) + header(an=1) + question(TXT) +
        b"130.155.160.0/255.255.240.0 130.155.0.0;;;;\0")
    put(t, "header-only", bytes([1]) + header(qd=0))


# ---------------------------------------------------------------- SPF
def spf():
    t = "fuzz_spf"
    put(t, "parse-amazonses", b"\0v=spf1 include:amazonses.com ~all")
    put(t, "parse-everything",
        b"\0v=spf1 a mx ptr ip4:192.0.2.0/24 ip6:2001:db8::/32 a:x/24//64 "
        b"exists:%{ir}.%{l1r-}.%{d2}.x.example include:_spf.example "
        b"redirect=%{d20r} exp=explain.%{d} unknown=x ?all")
    # libspf2: macro expansion overflows
    put(t, "macro-d20r", b"\1%{d20r}.example")
    put(t, "macro-ir-dot", b"\1%{ir.}.%{v}.arpa")
    put(t, "macro-many-delims", b"\1%{l-.+,/_=}%{l-.+,/_=}" * 40)
    put(t, "macro-long-expansion", b"\1" + b"%{s}%{h}%{d}" * 300)
    put(t, "macro-exp-text", b"\2%{p} %{r} %{t} %{c} %% %_ %- %{i}")
    put(t, "macro-bad", b"\1%{x}%{d0}%{d9999999999}%")
    put(t, "target-name", b"\3" + b"abc." * 150)
    put(t, "validate", b"\4v=spf1 include:amazonses.com ip4:192.0.2.1 "
        b"ip6:2001:db8::1 ~all")
    put(t, "validate-plus-all", b"\4v=spf1 a mx ptr +all")
    put(t, "check-host", b"\5v=spf1 a:%{ir}.%{v}.%{h} mx ptr "
        b"exists:%{i} -all")
    put(t, "check-host-recursion", b"\5v=spf1 include:%{d} -all")
    put(t, "check-host-exp", b"\5v=spf1 exp=%{d} -all")


# ---------------------------------------------------------------- config
def config(etc):
    t = "fuzz_config"
    lines = []
    try:
        with open(etc) as f:
            for line in f:
                if line.startswith("# ") and line[2:3].isupper():
                    lines.append(line[2:])
    except OSError:
        pass
    # values naming files are defanged by the target anyway
    put(t, "example-conf", "".join(lines))
    put(t, "lists-inline",
        "InternalHosts 127.0.0.0/8, ::1, !192.0.2.1, 2001:db8::/32\n"
        "ExemptSenders postmaster@example.com, ops@Example.COM\n"
        "ExemptDomains example.org, sub.example.net\n"
        "DomainActions example.com=reject, foo.example tempfail pending,"
        " bar.example:monitor\n"
        "OnPending tag\nOnFailed quarantine\nMode monitor\n"
        "RejectReply domain %d: fix %r (%s) 100%%\n"
        "TagHeader X-Ready\nUnregisteredDomains reject\nOutboundBy both\n")
    put(t, "crlf-comments", "Selector s1 # comment\r\n\t# only\r\n"
        "DNSTimeout 2.5\r\nRefreshInterval 15m\r\nUMask 027\r\n")
    put(t, "nul-byte", b"Selector a\0b\n")
    put(t, "long-line", "Selector " + "x" * 5000 + "\n")
    put(t, "no-value", "Selector\n")
    put(t, "unknown-key", "Bogus value\nselector Ok\n")
    put(t, "file-value", "InternalHosts /etc/passwd\n")
    put(t, "bad-values", "DNSTimeout 0\nPendingWindow 99999d\n"
        "EgressIPs 192.0.2.1/33, ::/129\nDMARCMinPolicy maybe\n")
    put(t, "fallback", "OnMailFromNotReady fallback\n"
        "FallbackMailFrom Bounces@MAIL.Operator.Example.\n")
    put(t, "fallback-no-address", "OnMailFromNotReady Fallback\n"
        "FallbackMailFrom <x@y>\n")


# ---------------------------------------------------------------- policy
def policy():
    t = "fuzz_policy"
    sep = "\n==\n"

    def p(flags, sw, on, parts):
        return bytes([flags, sw, on]) + sep.join(parts).encode("latin-1")
    base = ["127.0.0.0/8, ::1, 192.0.2.0/24",
            "postmaster@example.com",
            "example.org",
            "example.com=reject, mail.example.com accept pending",
            "user@mail.example.com", "mail.example.com",
            "DKIM s._domainkey.example.com missing",
            "sender domain %d is not ready: fix %r (%s) 100%%",
            "192.0.2.7"]
    put(t, "registered", p(0, 0, 0, base))
    put(t, "monitor-stale-dns", p(0xc0, 0x07, 0x2d, base))
    put(t, "unregistered-reject", p(0x10, 0x08, 0, base))
    b = list(base)
    b[0] = "!127.0.0.1, 10.0.0.0/8 # c\n::ffff:192.0.2.0/120, fe80::/10"
    b[3] = "example.com reject failed\nexample.com accept failed"
    b[4] = "Postmaster@EXAMPLE.com"
    b[8] = "::ffff:127.0.0.1"
    put(t, "dup-override-mapped", p(0x20, 0x31, 0x92, b))
    b = list(base)
    b[6] = "\x1b[31m%d\r\nX: y"
    b[7] = "reject %"
    b[5] = "\xff" * 300
    put(t, "hostile-text", p(0x40, 0x02, 0xff, b))
    b = [",".join("h%d.example" % i for i in range(300))] * 4 + base[4:]
    put(t, "lists-over-bound", p(0, 0x10, 0, b))


# ---------------------------------------------------------------- csv
def csv():
    t = "fuzz_csv"
    put(t, "import",
        "domain,mail_from,selectors,mx,spf_include,egress_ips,"
        "dmarc_min_policy,contact\r\n"
        "example.com,mail,1234rpr,feedback-smtp.example.net,amazonses.com,"
        "\"192.0.2.1,2001:db8::/32\",none,ops@example.com\r\n"
        "example.org,bounce.example.org,\"s1 s2\",,,,quarantine,\n")
    put(t, "quotes", "domain\n\"a\"\"b.example\"\n\"unterminated\n")
    put(t, "duplicates", "Domain,MX\nexample.com,mx\nEXAMPLE.com.,mx\n")
    put(t, "bad-header", "dom,ain\nx,y,z\n\"\",\n")
    put(t, "nul-cr", b"domain\r\nex\0ample.com\r\rb.example\n")


# ---------------------------------------------------------------- revpath
def revpath():
    t = "fuzz_revpath"
    for name, s in [
            ("plain", "<user@mail.example.com>"),
            ("null", "<>"),
            ("source-route", "<@a.example,@b.example:user@c.example>"),
            ("quoted", "<\"us er\\\"x\"@example.com>"),
            ("literal-v4", "<u@[192.0.2.1]>"),
            ("literal-v6", "<u@[IPv6:2001:db8::1]>"),
            ("idn", "<u@b\xc3\xbccher.example>"),
            ("no-brackets", "user@example.com"),
            ("long-local", "<" + "x" * 70 + "@example.com>"),
            ("long-path-verp", "<bounce-" + "x" * 300 +
             "=rcpt=example.net@em.example.com>"),
            ("long-path-utf8", "<" + "\xc3\xa9" * 200 + "@example.com>"),
            ("nul", "<u\0@example.com>")]:
        put(t, name, s)


# ---------------------------------------------------------------- policyreq
def policyreq():
    t = "fuzz_policyreq"
    rcpt = ("request=smtpd_access_policy\nprotocol_state=RCPT\n"
            "protocol_name=ESMTP\nclient_address=192.0.2.1\n"
            "client_name=mail.example.com\nhelo_name=mail.example.com\n"
            "sender=bounces@mail.example.com\nrecipient=a@example.net\n"
            "recipient_count=0\nqueue_id=\ninstance=1a2b.5f0a1c2d.3e4f.0\n"
            "size=0\nsasl_username=alice\nccert_subject=\n\n")
    for name, s in [
            ("rcpt", rcpt),
            ("eom-null", "request=smtpd_access_policy\n"
             "protocol_state=END-OF-MESSAGE\nsender=\nqueue_id=4XyZ1234\n"
             "instance=1a2b.5f0a1c2d.3e4f.0\nclient_address=2001:db8::1\n\n"),
            ("twice", "request=smtpd_access_policy\nsender=a@b\n"
             "sender=c@d\n\n"),
            ("noeq", "garbage\n\n"),
            ("empty", "\n"),
            ("two", "request=smtpd_access_policy\nprotocol_state=RCPT\n\n"
             "request=smtpd_access_policy\nprotocol_state=DATA\n\n"),
            ("ctl", "sender=%s%%\r\x01@x\n\n")]:
        put(t, name, s)


# ---------------------------------------------------------------- fromhdr
def fromhdr():
    t = "fuzz_fromhdr"
    for name, s in [
            ("plain", "Jane Doe <jane@example.com>"),
            ("quoted-at", "\"a@good.example\" <x@evil.example>"),
            ("comment-at", "x@evil.example (a@good.example)"),
            ("two", "<x@evil.example>, a@good.example"),
            ("group", "Team: a@one.example, B <b@two.example>;, c@x.example"),
            ("route", "<@good.example,@r.example:x@evil.example>"),
            ("obs-domain", "x@evil (c) . example ."),
            ("encoded", "=?utf-8?q?a=40good.example?= <x@evil.example>"),
            ("folded", "Jane\r\n Doe <jane@example.com>\r\n"),
            ("idn", "J\xc3\xb6rg <j@b\xc3\xbccher.example>"),
            ("literal", "a@[IPv6:2001:db8::1]"),
            ("nested", "((a) (b (c))) x@example.com"),
            ("nul", "x@evil.example\0a@good.example")]:
        put(t, name, s)


# ---------------------------------------------------------------- apireq
def apireq():
    t = "fuzz_apireq"
    for name, s in [
            ("get", "\x00/v1/domains/Shop.Example.\n\n\n\n"),
            ("list", "\x00/v1/domains\nverified\n10\na.example\n"),
            ("add", "\x01/v1/domains\n\n\n\n"
             '{"domain": "shop.example", "mail_from": "bounce", '
             '"selectors": ["s1", {"name": "s2", "key_file": "/k.pem"}], '
             '"mx": "fb.example.net", "spf_include": "spf.example.net", '
             '"egress_ips": ["192.0.2.1", "2001:db8::/64"], '
             '"dmarc_min_policy": "reject", "contact": "ops@shop.example"}'),
            ("unknown", '\x01/v1/domains:import\nhappy\n0\na..b\n'
             '{"domain": "a.example", "owner": 1}'),
            ("records", "\x00/v1/domains/x.example/records\n\n\n\n[]"),
            ("method", "PATCH /v1/domains/x.example\n\n\n\n{"),
            ("idn", "\x02/v1/domains/b\xc3\xbccher.example\n\n\n\n"
             '{"domain": "b\\u00fccher.example"}'),
            ("nul", '\x01/v1/domains/a\x00b\n\n\n\n{"domain": "a\\u0000b"}')]:
        put(t, name, s)


def main():
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    dmarc()
    dkim(os.path.join(top, "tests", "keys"))
    dnsmsg()
    spf()
    config(os.path.join(top, "etc", "authready.conf"))
    policy()
    csv()
    revpath()
    policyreq()
    fromhdr()
    apireq()


if __name__ == "__main__":
    main()
