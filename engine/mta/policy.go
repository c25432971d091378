package mta

import (
	"bytes"
	"strings"
	"time"

	"smtplab/engine/mimepart"
)

// RetrySchedule says when a deferred message is tried again, in the spirit
// of Postfix: the first retry after First, then twice the previous wait up to
// Max, and the message is bounced once it has been queued for GiveUp.
// Postfix's own rule differs in one step: it waits as long as the message
// has been queued, bounded by the same two numbers, which gives 5, 5, 10,
// 20, 40 minutes where this gives 5, 10, 20, 40; both reach the maximum
// after about two hours. Bounces share the schedule, as they share
// Postfix's 5 days (bounce_queue_lifetime). A delay warning goes out only
// to a sender who asked with NOTIFY=DELAY, after the first deferral, where
// Postfix sends none unless delay_warning_time is set (it is off by
// default).
type RetrySchedule struct {
	First  Duration `json:"first"`
	Max    Duration `json:"max"`
	GiveUp Duration `json:"giveUp"`
}

// DefaultRetrySchedule is Postfix's minimal_backoff_time (300 s),
// maximal_backoff_time (4000 s) and maximal_queue_lifetime (5 days).
func DefaultRetrySchedule() RetrySchedule {
	return RetrySchedule{First: Duration(5 * time.Minute), Max: Duration(4000 * time.Second), GiveUp: Duration(5 * 24 * time.Hour)}
}

// Next returns the wait before attempt number attempt+1, given that attempt
// attempts (1 or more) have failed.
func (s RetrySchedule) Next(attempt int) time.Duration {
	d, limit := time.Duration(s.First), time.Duration(s.Max)
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}

// Greylist answers "try again later" to the first attempt of every
// (client address, sender, recipient) triplet, and accepts the same triplet
// once Delay has passed: a real sender's queue retries, a spam cannon that
// fires once does not (the technique of Evan Harris, 2003).
type Greylist struct {
	Delay time.Duration
	seen  map[triplet]time.Duration // first seen (virtual time)
}

// triplet is what a Greylist tells apart, the addresses in lower case.
type triplet struct{ client, sender, rcpt string }

// Check reports whether the triplet may pass now; the first sighting is
// remembered.
func (g *Greylist) Check(client, sender, rcpt string, now time.Duration) bool {
	if g.seen == nil {
		g.seen = map[triplet]time.Duration{}
	}
	key := triplet{client, lower(sender), lower(rcpt)}
	first, ok := g.seen[key]
	if !ok {
		g.seen[key] = now
		return false
	}
	return now-first >= g.Delay
}

// RateLimit allows at most Max events per client within Window.
type RateLimit struct {
	Max    int
	Window time.Duration
	events map[string][]time.Duration
}

// Allow records an event for client at now and reports whether it is within
// the limit.
func (r *RateLimit) Allow(client string, now time.Duration) bool {
	if r.events == nil {
		r.events = map[string][]time.Duration{}
	}
	recent := r.events[client][:0]
	for _, t := range r.events[client] {
		if now-t < r.Window {
			recent = append(recent, t)
		}
	}
	if len(recent) >= r.Max {
		r.events[client] = recent
		return false
	}
	r.events[client] = append(recent, now)
	return true
}

// The test strings every content filter knows. Both are public and harmless:
// EICAR stands in for a virus, GTUBE for spam.
const (
	EICAR = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`
	GTUBE = `XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X`
)

// Scan returns why a content filter refuses msg, or "" when it passes: the
// EICAR test virus, the GTUBE spam string, or an "X-Spam-Flag: YES" header
// set by an upstream filter. Like a real filter it also looks inside the
// message's MIME parts, decoded from base64 or quoted-printable: an
// attachment must not hide what the same text in the body would show.
func Scan(msg []byte) string {
	if why := scanText(msg); why != "" {
		return why
	}
	// The fields looked for below are read only from a header that may
	// hold their names: reading a header field by field costs more than
	// looking through it once for a word, which most messages do not hold.
	header := headerBound(msg)
	if holdsFold(header, "x-spam-flag") && strings.EqualFold(headerValue(msg, "X-Spam-Flag"), "YES") {
		return "spam detected: X-Spam-Flag is YES"
	}
	// Most messages are one part, not encoded: its text was scanned
	// above, and there is nothing else to look at, so the header need not
	// be read into a map.
	if !holdsFold(header, "content-") {
		return "" // no Content-Type, no Content-Transfer-Encoding: plain text
	}
	if mt := mimepart.MediaType(mimepart.Field(msg, "Content-Type")); !strings.HasPrefix(mt, "multipart/") && mt != "message/rfc822" &&
		!mimepart.Encoded(mimepart.Field(msg, "Content-Transfer-Encoding")) {
		return ""
	}
	hdr, start := mimepart.Headers(msg)
	budget := maxScannedParts
	return scanParts(mimepart.Part{Header: hdr, Body: msg[start:]}, 0, &budget)
}

// The parts Scan opens are bounded, in depth and in number, so that a
// message of nested parts cannot make it work without end.
const (
	maxScanDepth    = 4
	maxScannedParts = 100
)

// scanText looks for the test strings in text: EICAR first, wherever
// each is, as a virus is worse news than spam. Both begin with an X, so
// one pass from X to X finds them both.
func scanText(text []byte) string {
	gtube := false
	for i := bytes.IndexByte(text, 'X'); i >= 0; i = nextX(text, i) {
		switch rest := text[i:]; {
		case bytes.HasPrefix(rest, []byte(EICAR)):
			return "virus found: EICAR test file"
		case bytes.HasPrefix(rest, []byte(GTUBE)):
			gtube = true
		}
	}
	if gtube {
		return "spam detected: GTUBE test string"
	}
	return ""
}

// nextX returns the index of the first X in text after i, or -1.
func nextX(text []byte, i int) int {
	if j := bytes.IndexByte(text[i+1:], 'X'); j >= 0 {
		return i + 1 + j
	}
	return -1
}

// scanParts scans p: a multipart by its parts, any other part by its
// content decoded from its transfer encoding, and an attached message
// (message/rfc822) by what is inside it too, while budget lasts. Each part
// is decoded once.
//
// p's body is always a piece of text scanned before: the message, or the
// decoded content of a part that held it. Content that is not encoded is
// that same text, so only decoded content is scanned again.
func scanParts(p mimepart.Part, depth int, budget *int) string {
	if depth == maxScanDepth {
		return ""
	}
	mt, _ := mimepart.Params(p.Header.Get("Content-Type"))
	if strings.HasPrefix(mt, "multipart/") {
		for _, part := range p.Parts(*budget) {
			if *budget--; *budget < 0 {
				return ""
			}
			if why := scanParts(part, depth+1, budget); why != "" {
				return why
			}
		}
		return ""
	}
	// One part: its body may be base64 or quoted-printable, and may be a
	// whole message of its own.
	cte := p.Header.Get("Content-Transfer-Encoding")
	content := mimepart.Decode(p.Body, cte)
	if mimepart.Encoded(cte) { // content as it was written was scanned already (see above)
		if why := scanText(content); why != "" {
			return why + " in a MIME part"
		}
	}
	if mt == "message/rfc822" {
		hdr, start := mimepart.Headers(content)
		return scanParts(mimepart.Part{Header: hdr, Body: content[start:]}, depth+1, budget)
	}
	return ""
}
