// Package dkim signs and verifies messages with DomainKeys Identified Mail
// (RFC 6376): a signature by a domain over a message's body and chosen
// header fields, carried in a DKIM-Signature header field, whose public
// key receivers fetch from DNS at selector._domainkey.domain:
//
//	lab._domainkey.example.com.  TXT  "v=DKIM1; k=ed25519; p=<the public key in base64>"
//
// The lab signs with Ed25519 (ed25519-sha256, RFC 8463) and relaxed
// canonicalization of header and body. Ed25519 keeps the lab's rules: its
// keys are pre-generated (see engine/labtls), the same message always
// gets the same signature, so worlds stay deterministic, and a key record
// is short enough to read. Verify also accepts rsa-sha256, what most
// domains sign with today, and simple canonicalization.
//
// Verify checks what a learner can break: the body, the signed header
// fields, the key record, and x= (expiry) against the time it is given,
// which in a lab world is the world's clock, the one signers stamp t= with.
package dkim

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"smtplab/engine/dns"
	"smtplab/engine/mimepart"
)

// Status is the outcome of verifying one signature, as RFC 8601 names it
// in Authentication-Results.
type Status string

const (
	Pass      Status = "pass"      // the signature verified
	Fail      Status = "fail"      // the message is not what was signed
	TempError Status = "temperror" // the key could not be fetched for now
	PermError Status = "permerror" // the signature or its key is unusable
)

// Result is what Verify found for one DKIM-Signature field.
type Result struct {
	Status   Status
	Domain   string // d=, the signing domain
	Selector string // s=
	Why      string // one sentence, for the trace
}

// Lookup answers DNS queries, as dns.Resolver.Records does.
type Lookup = func(name string, t dns.Type) ([]dns.Record, error)

// SignedFields are the header fields Sign covers when the message has
// them: what a reader sees and what says how to read the body.
var SignedFields = []string{"From", "To", "Cc", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"}

// Signer signs for one domain with one key.
type Signer struct {
	Domain   string // d=
	Selector string // s=: the key is published at Selector._domainkey.Domain
	Key      ed25519.PrivateKey
}

// KeyRecord is the TXT record that publishes pub for verifiers.
func KeyRecord(pub ed25519.PublicKey) string {
	return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)
}

// KeyName is where the key of a selector of domain is published.
func KeyName(selector, domain string) string {
	return selector + "._domainkey." + strings.TrimSuffix(domain, ".")
}

// Sign returns the DKIM-Signature header field for msg (a message with
// CRLF line ends), without its final CRLF, signed at time now. It is put
// on top of the message; header fields added above it later (Received:)
// are not signed and do not break it.
func (s Signer) Sign(msg []byte, now time.Time) (string, error) {
	if s.Domain == "" || s.Selector == "" || len(s.Key) != ed25519.PrivateKeySize {
		return "", errors.New("dkim: a signer needs a domain, a selector and an Ed25519 key")
	}
	header, body := split(msg)
	fields := parseFields(header)
	var names []string
	for _, name := range SignedFields {
		if lastField(fields, name, nil) >= 0 {
			names = append(names, name)
		}
	}
	if len(names) == 0 || names[0] != "From" {
		return "", errors.New("dkim: the message has no From: field, which a signature must cover")
	}
	bh := sha256.Sum256(canonicalBody(body, true))
	sig := fmt.Sprintf("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n\td=%s; s=%s; t=%d;\r\n\th=%s;\r\n\tbh=%s;\r\n\tb=",
		s.Domain, s.Selector, now.Unix(), strings.Join(names, ":"), base64.StdEncoding.EncodeToString(bh[:]))
	hash := headerHash(fields, names, sig, true)
	b := base64.StdEncoding.EncodeToString(ed25519.Sign(s.Key, hash))
	// Folded so no line is long; whitespace in b= is ignored (§3.5).
	var folded strings.Builder
	for len(b) > 64 {
		folded.WriteString(b[:64] + "\r\n\t ")
		b = b[64:]
	}
	folded.WriteString(b)
	return sig + folded.String(), nil
}

// MaxSignatures is how many DKIM-Signature fields Verify checks: a message
// cannot make a server look up keys without end (RFC 6376 §6.1 lets a
// verifier stop). Real mail carries one or two.
const MaxSignatures = 5

// Verify checks the DKIM-Signature fields of msg at time now, top one
// first and at most MaxSignatures of them, fetching keys with lookup. A
// message with no signature gives no results.
func Verify(msg []byte, lookup Lookup, now time.Time) []Result {
	header, body := split(msg)
	fields := parseFields(header)
	var out []Result
	for _, f := range fields {
		if strings.EqualFold(fieldName(f), "DKIM-Signature") && len(out) < MaxSignatures {
			out = append(out, verify(f, fields, body, lookup, now))
		}
	}
	return out
}

// verify checks the signature in the field sig (§6.1).
func verify(sig string, fields []string, body []byte, lookup Lookup, now time.Time) Result {
	tags, err := parseTags(sig[strings.IndexByte(sig, ':')+1:])
	r := Result{Status: PermError, Domain: tags["d"], Selector: tags["s"]}
	if err != nil {
		r.Why = "the signature cannot be read: " + err.Error()
		return r
	}
	for _, t := range []string{"v", "a", "b", "bh", "d", "h", "s"} {
		if _, ok := tags[t]; !ok {
			r.Why = "the signature has no " + t + "= tag"
			return r
		}
	}
	if tags["v"] != "1" {
		r.Why = "the signature is version " + tags["v"] + ", not 1"
		return r
	}
	alg := strings.ToLower(tags["a"])
	if alg != "ed25519-sha256" && alg != "rsa-sha256" {
		r.Why = "the signature uses " + tags["a"] + ", an algorithm this server does not know"
		return r
	}
	headerCanon, bodyCanon, _ := strings.Cut(strings.ToLower(tags["c"]), "/")
	if headerCanon == "" {
		headerCanon = "simple"
	}
	if bodyCanon == "" {
		bodyCanon = "simple"
	}
	if !isCanon(headerCanon) || !isCanon(bodyCanon) {
		r.Why = "the signature asks for canonicalization " + tags["c"] + ", which does not exist"
		return r
	}
	var names []string
	for _, n := range strings.Split(tags["h"], ":") {
		names = append(names, strings.TrimSpace(n))
	}
	if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, "From") }) {
		r.Why = "the signature does not cover From:, as it must"
		return r
	}
	if i, ok := tags["i"]; ok {
		// The identity signed for must be in d= or below it (§3.5).
		_, idDomain, _ := strings.Cut(i, "@")
		idDomain, d := strings.ToLower(idDomain), strings.ToLower(r.Domain)
		if idDomain != d && !strings.HasSuffix(idDomain, "."+d) {
			r.Why = "the signature's i= (" + i + ") is not in its d= domain " + r.Domain
			return r
		}
	}
	if why := expired(tags, now); why != "" {
		r.Why = why
		return r
	}
	wantBH, err1 := base64.StdEncoding.DecodeString(stripSpace(tags["bh"]))
	signature, err2 := base64.StdEncoding.DecodeString(stripSpace(tags["b"]))
	if err1 != nil || err2 != nil {
		r.Why = "the signature's bh= or b= is not base64"
		return r
	}

	canonical := canonicalBody(body, bodyCanon == "relaxed")
	if l, ok := tags["l"]; ok {
		n, err := strconv.ParseUint(l, 10, 63) // digits only, no sign (§3.5)
		if err != nil || n > uint64(len(canonical)) {
			r.Why = "the signature's l= (" + l + ") is not a length the body has"
			return r
		}
		canonical = canonical[:n]
	}
	if bh := sha256.Sum256(canonical); !bytes.Equal(bh[:], wantBH) {
		r.Status, r.Why = Fail, "body hash did not verify: the body was changed after it was signed"
		return r
	}

	key, testing, status, why := fetchKey(KeyName(r.Selector, r.Domain), alg, lookup)
	if key == nil {
		r.Status, r.Why = status, why
		return r
	}
	hash := headerHash(fields, names, withoutSignature(sig), headerCanon == "relaxed")
	var ok bool
	switch k := key.(type) {
	case ed25519.PublicKey:
		ok = ed25519.Verify(k, hash, signature)
	case *rsa.PublicKey:
		ok = rsa.VerifyPKCS1v15(k, crypto.SHA256, hash, signature) == nil
	}
	if !ok {
		r.Status, r.Why = Fail, "signature did not verify: a signed header field was changed, or the key does not match"
		return r
	}
	r.Status, r.Why = Pass, fmt.Sprintf("signature by %s verified with the key at %s", r.Domain, KeyName(r.Selector, r.Domain))
	if testing {
		r.Why += ", whose record says the domain is only testing DKIM (t=y)"
	}
	return r
}

// expired says why a signature's x= (expiry, §3.5) makes it unusable at
// now, or "" when it does not: unreadable, not after t=, or past.
func expired(tags map[string]string, now time.Time) string {
	x, ok := tags["x"]
	if !ok {
		return ""
	}
	expiry, err := strconv.ParseUint(x, 10, 64)
	if err != nil {
		return "the signature's x= (" + x + ") is not a time"
	}
	if t, err := strconv.ParseUint(tags["t"], 10, 64); err == nil && expiry <= t {
		return "the signature's x= is not after its t=: it expired as it was made"
	}
	if expiry < uint64(max(now.Unix(), 0)) {
		return "the signature expired at " + time.Unix(int64(min(expiry, 1<<62)), 0).UTC().Format(time.RFC1123) + " (x=)"
	}
	return ""
}

// fetchKey looks up and parses the key record at name for algorithm alg
// (§3.6.2), and whether it says the domain is only testing DKIM (t=y). On
// failure the key is nil and the status says why.
func fetchKey(name, alg string, lookup Lookup) (key crypto.PublicKey, testing bool, status Status, why string) {
	records, err := lookup(name, dns.TXT)
	switch {
	case errors.Is(err, dns.ErrNXDomain):
		return nil, false, PermError, "no key is published at " + name
	case err != nil:
		return nil, false, TempError, "looking up the key at " + name + " failed (" + err.Error() + "): try again later"
	}
	var txt []string
	for _, rec := range records {
		if rec.Type == dns.TXT {
			txt = append(txt, rec.Text)
		}
	}
	if len(txt) != 1 {
		return nil, false, PermError, fmt.Sprintf("%s has %d TXT records, not one key record", name, len(txt))
	}
	tags, err := parseTags(txt[0])
	if err != nil || (tags["v"] != "" && tags["v"] != "DKIM1") {
		return nil, false, PermError, "the key record at " + name + " cannot be read"
	}
	if h, ok := tags["h"]; ok && !hasItem(h, "sha256") {
		return nil, false, PermError, "the key at " + name + " is not for sha256 (h=" + h + ")"
	}
	if s, ok := tags["s"]; ok && !hasItem(s, "email") && !hasItem(s, "*") {
		return nil, false, PermError, "the key at " + name + " is not for email (s=" + s + ")"
	}
	p, ok := tags["p"]
	if !ok {
		return nil, false, PermError, "the key record at " + name + " has no p= tag"
	}
	if p == "" {
		return nil, false, PermError, "the key at " + name + " is revoked (empty p=)"
	}
	der, err := base64.StdEncoding.DecodeString(stripSpace(p))
	if err != nil {
		return nil, false, PermError, "the key at " + name + " is not base64"
	}
	kind := tags["k"]
	if kind == "" {
		kind = "rsa"
	}
	testing = hasItem(tags["t"], "y")
	switch {
	case kind == "ed25519" && alg == "ed25519-sha256" && len(der) == ed25519.PublicKeySize:
		return ed25519.PublicKey(der), testing, "", ""
	case kind == "rsa" && alg == "rsa-sha256":
		rk := rsaKey(der)
		if rk != nil && rk.N.BitLen() < 1024 {
			return nil, false, PermError, fmt.Sprintf("the key at %s has %d bits, too short to be trusted (RFC 8301: 1024 at least)", name, rk.N.BitLen())
		}
		if rk != nil {
			return rk, testing, "", ""
		}
	}
	return nil, false, PermError, "the key at " + name + " is not a " + alg + " key"
}

// rsaKey reads an RSA public key as key records publish it: mostly as a
// SubjectPublicKeyInfo, sometimes as the bare RSAPublicKey that RFC 6376
// (§3.6.1) literally names. It returns nil for anything else.
func rsaKey(der []byte) *rsa.PublicKey {
	if k, err := x509.ParsePKIXPublicKey(der); err == nil {
		rk, _ := k.(*rsa.PublicKey)
		return rk
	}
	rk, _ := x509.ParsePKCS1PublicKey(der)
	return rk
}

// hasItem reports whether a colon-separated list of a key record (h=, s=,
// t=) holds item.
func hasItem(list, item string) bool {
	return slices.ContainsFunc(strings.Split(list, ":"), func(f string) bool { return strings.TrimSpace(f) == item })
}

// split cuts msg into its header (with the CRLF of its last field) and its
// body where every reader in the lab does (mimepart.HeaderEnd): after the
// empty line, or from the first line that is no field in a message
// written without one, whose text the body hash must then cover.
func split(msg []byte) (header, body []byte) {
	end, start := mimepart.HeaderEnd(msg)
	return msg[:end], msg[start:]
}

// parseFields splits a header into its fields, each with its folding and
// without its final CRLF.
func parseFields(header []byte) []string {
	var fields []string
	for _, line := range strings.SplitAfter(string(header), "\r\n") {
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1] += "\r\n" + strings.TrimSuffix(line, "\r\n")
			continue
		}
		fields = append(fields, strings.TrimSuffix(line, "\r\n"))
	}
	return fields
}

func fieldName(f string) string {
	name, _, _ := strings.Cut(f, ":")
	return strings.TrimRight(name, " \t")
}

// lastField returns the index of the bottom-most field called name that
// is not in used, or -1 (§5.4.2: signers and verifiers take instances from
// the bottom up).
func lastField(fields []string, name string, used map[int]bool) int {
	for i := len(fields) - 1; i >= 0; i-- {
		if !used[i] && strings.EqualFold(fieldName(fields[i]), name) {
			return i
		}
	}
	return -1
}

// headerHash hashes the fields named in h= and then the signature field
// sig (with an empty b=, no final CRLF), canonicalized (§3.7).
func headerHash(fields, names []string, sig string, relaxed bool) []byte {
	h := sha256.New()
	used := map[int]bool{}
	for _, name := range names {
		if i := lastField(fields, name, used); i >= 0 {
			used[i] = true
			h.Write([]byte(canonicalField(fields[i], relaxed) + "\r\n"))
		}
	}
	h.Write([]byte(canonicalField(sig, relaxed)))
	return h.Sum(nil)
}

// canonicalField is a header field in simple or relaxed form (§3.4.1,
// §3.4.2), without its CRLF.
func canonicalField(f string, relaxed bool) string {
	if !relaxed {
		return f
	}
	name, value, _ := strings.Cut(f, ":")
	return strings.ToLower(strings.TrimRight(name, " \t")) + ":" + collapseSpace(strings.ReplaceAll(value, "\r\n", ""))
}

// canonicalBody is the body in simple or relaxed form (§3.4.3, §3.4.4):
// no empty lines at the end and, unless nothing is left, one CRLF.
func canonicalBody(body []byte, relaxed bool) []byte {
	lines := strings.Split(string(body), "\r\n")
	if relaxed {
		for i, l := range lines {
			// Space inside a line shrinks to one, space at its end goes.
			lead := l != "" && (l[0] == ' ' || l[0] == '\t')
			lines[i] = collapseSpace(l)
			if lead && lines[i] != "" {
				lines[i] = " " + lines[i]
			}
		}
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		if relaxed {
			return nil
		}
		return []byte("\r\n")
	}
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

// collapseSpace turns each run of spaces and tabs into one space and drops
// those at the start and the end (the relaxed form of a header value).
func collapseSpace(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' }), " ")
}

// withoutSignature returns the field sig with the value of its b= tag
// removed, as it was when it was signed (§3.5).
func withoutSignature(sig string) string {
	start := strings.IndexByte(sig, ':') + 1
	for start <= len(sig) {
		end := len(sig)
		if semi := strings.IndexByte(sig[start:], ';'); semi >= 0 {
			end = start + semi
		}
		if name, _, ok := strings.Cut(sig[start:end], "="); ok && strings.TrimSpace(name) == "b" {
			eq := start + strings.IndexByte(sig[start:end], '=')
			return sig[:eq+1] + sig[end:]
		}
		start = end + 1
	}
	return sig
}

// parseTags reads a tag list, "v=1; a=rsa-sha256; ..." (§3.2). Values keep
// their inner whitespace; duplicate tags are an error.
func parseTags(s string) (map[string]string, error) {
	tags := map[string]string{}
	for part := range strings.SplitSeq(s, ";") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		name, value, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return tags, fmt.Errorf("%q is not a tag=value pair", strings.TrimSpace(part))
		}
		if _, dup := tags[name]; dup {
			return tags, fmt.Errorf("the tag %s= appears twice", name)
		}
		tags[name] = strings.TrimSpace(value)
	}
	return tags, nil
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}

func isCanon(c string) bool { return c == "simple" || c == "relaxed" }
