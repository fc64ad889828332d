#!/usr/bin/perl
# webhook-receiver.pl - a webhook receiver on loopback for webhooks.sh.
#
# SYNOPSIS
#	perl tests/webhook-receiver.pl DIR SECRETFILE PORT
#
# DESCRIPTION
#	Listens on 127.0.0.1:PORT (0: any free port, written to DIR/port)
#	and answers one HTTP/1.1 POST per connection, the way a careful
#	receiver of authready's webhooks does:
#
#	  - the Authready-Signature header "t=T,v1=HEX" must be the
#	    HMAC-SHA256, keyed with the first line of SECRETFILE, of
#	    "T.BODY", and T within MAX_SKEW seconds of the clock (a replay
#	    is refused): otherwise 401, and a line "bad WHY" in DIR/bad;
#	  - path /gone answers 404 (a receiver that refuses for good);
#	  - while DIR/fail holds a number above 0, path /hook answers 500
#	    and the number goes down by one (kept in the file, so a
#	    restarted receiver goes on counting);
#	  - otherwise the event is kept: "ID TYPE DOMAIN" appended to
#	    DIR/events, the body to DIR/bodies and "ID MS" (the wall clock
#	    in milliseconds when the request was read) to DIR/arrivals
#	    unless its id is there already (then "ID" goes to DIR/dups),
#	    and the answer is 204.
#
#	Every request is counted in DIR/requests ("PATH STATUS").  Perl's
#	core modules only (IO::Socket::INET, Digest::SHA).  Runs until it
#	is killed.
use strict;
use warnings;
use Digest::SHA qw(hmac_sha256_hex);
use IO::Socket::INET;
use Time::HiRes ();

my $MAX_SKEW = 300;     # seconds a signature's time may be off
my $HEAD_MAX = 16384;   # octets of a request's head
my $BODY_MAX = 1 << 20; # octets of a body

my ($dir, $secretfile, $port) = @ARGV;
die "usage: $0 DIR SECRETFILE PORT\n" unless defined $port;
open(my $sf, '<', $secretfile) or die "$secretfile: $!\n";
my $secret = <$sf>;
close($sf);
$secret =~ s/[\r\n]+\z//;

my $srv = IO::Socket::INET->new(
	LocalAddr => '127.0.0.1',
	LocalPort => $port,
	Listen    => 16,
	ReuseAddr => 1,
	Proto     => 'tcp'
) or die "listen on 127.0.0.1:$port: $!\n";
put("$dir/port.new", $srv->sockport() . "\n");
rename("$dir/port.new", "$dir/port") or die "rename: $!\n";

# put FILE TEXT - write TEXT as the whole of FILE.
sub put {
	my ($file, $text) = @_;
	open(my $fh, '>', $file) or die "$file: $!\n";
	print $fh $text;
	close($fh) or die "$file: $!\n";
}

# add FILE LINE - append LINE to FILE.
sub add {
	my ($file, $line) = @_;
	open(my $fh, '>>', $file) or die "$file: $!\n";
	print $fh "$line\n";
	close($fh) or die "$file: $!\n";
}

# slurp FILE - the whole of FILE, or "" when it does not exist.
sub slurp {
	my ($file) = @_;
	open(my $fh, '<', $file) or return '';
	local $/;
	my $text = <$fh>;
	close($fh);
	return defined $text ? $text : '';
}

# verify SIG BODY - "" when SIG signs BODY now, else why not.
sub verify {
	my ($sig, $body) = @_;
	return 'no signature' unless defined $sig;
	return 'malformed signature' unless $sig =~ /\At=(\d+),v1=([0-9a-f]{64})\z/;
	my ($t, $mac) = ($1, $2);
	return "stale timestamp $t" if abs(time() - $t) > $MAX_SKEW;
	my $want = hmac_sha256_hex("$t.$body", $secret);
	my $diff = 0;
	$diff |= ord(substr($want, $_, 1)) ^ ord(substr($mac, $_, 1)) for 0 .. 63;
	return $diff ? 'wrong signature' : '';
}

# decide PATH SIG BODY - the status to answer.
sub decide {
	my ($path, $sig, $body) = @_;
	my $why = verify($sig, $body);
	if ($why ne '') {
		add("$dir/bad", "bad $why");
		return 401;
	}
	return 404 if $path eq '/gone';
	return 404 if $path ne '/hook';
	my $fail = slurp("$dir/fail");
	if ($fail =~ /\A(\d+)/ && $1 > 0) {
		put("$dir/fail", ($1 - 1) . "\n");
		return 500;
	}
	my ($id)     = $body =~ /"id":"([0-9a-f]{32})"/;
	my ($type)   = $body =~ /"type":"([a-z]+)"/;
	my ($domain) = $body =~ /"domain":"([^"\\]+)"/;
	unless (defined $id && defined $type && defined $domain) {
		add("$dir/bad", "bad body $body");
		return 400;
	}
	if (slurp("$dir/events") =~ /^\Q$id\E /m) {
		add("$dir/dups", $id);
	} else {
		add("$dir/events", "$id $type $domain");
		add("$dir/bodies", $body);
		add("$dir/arrivals", "$id " . int(Time::HiRes::time() * 1000));
	}
	return 204;
}

my %reason = (204 => 'No Content', 400 => 'Bad Request', 401 => 'Unauthorized',
	      404 => 'Not Found', 500 => 'Internal Server Error');
while (my $c = $srv->accept()) {
	my ($head, $body) = ('', '');
	while ($head !~ /\r\n\r\n/ && length($head) < $HEAD_MAX) {
		my $n = sysread($c, $head, 4096, length($head));
		last unless $n;
	}
	my ($first, $rest) = split(/\r\n\r\n/, $head, 2);
	$rest = '' unless defined $rest;
	my ($method, $path) = $first =~ /\A(\S+) (\S+) HTTP\/1\.[01]\r\n/;
	my ($len) = $first =~ /^Content-Length:\s*(\d+)\r?$/mi;
	my ($sig) = $first =~ /^Authready-Signature:\s*(\S+)\r?$/mi;
	$body = $rest;
	$len = 0 unless defined $len && $len <= $BODY_MAX;
	while (length($body) < $len) {
		my $n = sysread($c, $body, $len - length($body), length($body));
		last unless $n;
	}
	my $status = (defined $method && $method eq 'POST')
	    ? decide($path, $sig, $body) : 400;
	add("$dir/requests", (defined $path ? $path : '-') . " $status");
	print $c "HTTP/1.1 $status $reason{$status}\r\n"
	    . "Content-Length: 0\r\nConnection: close\r\n\r\n";
	close($c);
}
