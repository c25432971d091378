package dkim

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	msgauth "github.com/emersion/go-msgauth/dkim"

	"smtplab/engine/dns"
)

var signedAt = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// message is a small message as the lab's mail client writes it.
const message = "From: Alice <alice@example.com>\r\n" +
	"To: bob@example.org\r\n" +
	"Subject: Lunch  on\r\n\tFriday?\r\n" +
	"Date: Mon, 05 Jan 2026 09:00:00 +0000\r\n" +
	"Message-ID: <1.0@laptop.example.com>\r\n" +
	"\r\n" +
	"Hello Bob,\r\n" +
	"  shall we?\t \r\n" +
	"\r\n\r\n"

func testSigner() Signer {
	return Signer{Domain: "example.com", Selector: "lab", Key: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))}
}

// zone answers key lookups from a map of names to TXT texts; a name
// missing from it does not exist.
func zone(txt map[string]string) Lookup {
	return func(name string, t dns.Type) ([]dns.Record, error) {
		text, ok := txt[name]
		if !ok {
			return nil, dns.ErrNXDomain
		}
		return []dns.Record{{Name: name, Type: dns.TXT, Text: text}}, nil
	}
}

func signed(t *testing.T, s Signer, msg string) string {
	t.Helper()
	field, err := s.Sign([]byte(msg), signedAt)
	if err != nil {
		t.Fatal(err)
	}
	return field + "\r\n" + msg
}

func keys(s Signer) Lookup {
	return zone(map[string]string{KeyName(s.Selector, s.Domain): KeyRecord(s.Key.Public().(ed25519.PublicKey))})
}

func TestSignThenVerify(t *testing.T) {
	s := testSigner()
	msg := signed(t, s, message)
	for _, want := range []string{"v=1; a=ed25519-sha256; c=relaxed/relaxed;",
		"d=example.com; s=lab; t=1767603600;", "h=From:To:Subject:Date:Message-ID;"} {
		if !strings.Contains(msg, want) {
			t.Errorf("signature lacks %q:\n%s", want, msg)
		}
	}
	for _, line := range strings.Split(msg, "\r\n") {
		if len(line) > 78 {
			t.Errorf("line longer than 78 characters: %q", line)
		}
	}
	got := Verify([]byte(msg), keys(s), signedAt)
	if len(got) != 1 || got[0].Status != Pass || got[0].Domain != "example.com" || got[0].Selector != "lab" {
		t.Fatalf("Verify = %+v, want one pass by example.com", got)
	}
	// The same message signed again gives the same field: worlds stay
	// deterministic.
	if again := signed(t, s, message); again != msg {
		t.Errorf("signing twice differs:\n%s\n%s", msg, again)
	}
}

// TestWhatBreaksASignature changes a signed message the ways mail gets
// changed on its way, and checks which of them the signature survives.
func TestWhatBreaksASignature(t *testing.T) {
	s := testSigner()
	msg := signed(t, s, message)
	cases := []struct {
		name   string
		change func(string) string
		want   Status
		why    string
	}{
		{"a Received field added on top", func(m string) string {
			return "Received: from smtp.example.com by mx.example.org\r\n" + m
		}, Pass, ""},
		{"whitespace refolded", func(m string) string {
			return strings.Replace(m, "Subject: Lunch  on\r\n\tFriday?", "Subject:   Lunch on Friday?  ", 1)
		}, Pass, ""},
		{"empty lines added at the end", func(m string) string { return m + "\r\n\r\n" }, Pass, ""},
		{"a footer added to the body", func(m string) string {
			return m + "-- \r\nSent through the list\r\n"
		}, Fail, "body hash did not verify"},
		{"the subject edited", func(m string) string {
			return strings.Replace(m, "Lunch", "[list] Lunch", 1)
		}, Fail, "signature did not verify"},
		{"a second From: added at the bottom", func(m string) string {
			return strings.Replace(m, "\r\n\r\nHello", "\r\nFrom: mallory@example.net\r\n\r\nHello", 1)
		}, Fail, "signature did not verify"},
	}
	for _, c := range cases {
		got := Verify([]byte(c.change(msg)), keys(s), signedAt)
		if len(got) != 1 || got[0].Status != c.want || !strings.Contains(got[0].Why, c.why) {
			t.Errorf("%s: %+v, want %s (%s)", c.name, got, c.want, c.why)
		}
	}
}

// TestMessageWithoutEmptyLine: in a message written without the empty
// line after its header, the text starts at its first line that is no
// field, as the mailbox shows it, and the body hash covers it: changing it
// breaks the signature.
func TestMessageWithoutEmptyLine(t *testing.T) {
	s := testSigner()
	msg := signed(t, s, "From: alice@example.com\r\nSubject: no empty line\r\nHello Bob, see you at noon.\r\n")
	if got := Verify([]byte(msg), keys(s), signedAt); len(got) != 1 || got[0].Status != Pass {
		t.Fatalf("Verify = %+v, want a pass", got)
	}
	changed := strings.Replace(msg, "noon", "nine", 1)
	if got := Verify([]byte(changed), keys(s), signedAt); len(got) != 1 || got[0].Status != Fail || !strings.Contains(got[0].Why, "body hash") {
		t.Errorf("with its text changed: %+v, want a failed body hash", got)
	}
}

func TestKeyProblems(t *testing.T) {
	s := testSigner()
	msg := []byte(signed(t, s, message))
	name := KeyName("lab", "example.com")
	pub := base64.StdEncoding.EncodeToString(s.Key.Public().(ed25519.PublicKey))
	other := base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32)).Public().(ed25519.PublicKey))
	cases := []struct {
		name   string
		lookup Lookup
		want   Status
		why    string
	}{
		{"no key published", zone(nil), PermError, "no key is published at lab._domainkey.example.com"},
		{"DNS fails", func(string, dns.Type) ([]dns.Record, error) { return nil, dns.ErrServFail }, TempError, "try again later"},
		{"key revoked", zone(map[string]string{name: "v=DKIM1; k=ed25519; p="}), PermError, "revoked"},
		{"an RSA key for an Ed25519 signature", zone(map[string]string{name: "v=DKIM1; p=" + pub}), PermError, "not a ed25519-sha256 key"},
		{"another key", zone(map[string]string{name: "v=DKIM1; k=ed25519; p=" + other}), Fail, "signature did not verify"},
		{"a record that is not a key record", zone(map[string]string{name: "v=spf1 -all"}), PermError, "cannot be read"},
		{"a key record without a key", zone(map[string]string{name: "v=DKIM1; k=ed25519"}), PermError, "has no p= tag"},
	}
	for _, c := range cases {
		got := Verify(msg, c.lookup, signedAt)
		if len(got) != 1 || got[0].Status != c.want || !strings.Contains(got[0].Why, c.why) {
			t.Errorf("%s: %+v, want %s (%s)", c.name, got, c.want, c.why)
		}
	}
}

func TestBrokenSignatures(t *testing.T) {
	s := testSigner()
	field, err := s.Sign([]byte(message), signedAt)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, field, why string
	}{
		{"no b=", strings.Replace(field, "b=", "x=", 1), "has no b= tag"},
		{"a tag twice", strings.Replace(field, "s=lab;", "s=lab; s=lab;", 1), "appears twice"},
		{"version 2", strings.Replace(field, "v=1", "v=2", 1), "version 2"},
		{"an unknown algorithm", strings.Replace(field, "a=ed25519-sha256", "a=rsa-sha1", 1), "rsa-sha1"},
		{"From: not signed", strings.Replace(field, "h=From:", "h=", 1), "does not cover From:"},
		{"a length longer than the body", strings.Replace(field, "t=", "l=9999; t=", 1), "l= (9999)"},
	}
	for _, c := range cases {
		got := Verify([]byte(c.field+"\r\n"+message), keys(s), signedAt)
		if len(got) != 1 || got[0].Status != PermError || !strings.Contains(got[0].Why, c.why) {
			t.Errorf("%s: %+v, want permerror (%s)", c.name, got, c.why)
		}
	}
	if got := Verify([]byte(message), keys(s), signedAt); len(got) != 0 {
		t.Errorf("an unsigned message gave %+v", got)
	}
	lookups := 0
	counting := func(name string, t dns.Type) ([]dns.Record, error) {
		lookups++
		return keys(s)(name, t)
	}
	many := strings.Repeat(field+"\r\n", 50) + message
	if got := Verify([]byte(many), counting, signedAt); len(got) != MaxSignatures || lookups != MaxSignatures || got[0].Status != Pass {
		t.Errorf("50 signatures: %d results, %d lookups, want %d of each", len(got), lookups, MaxSignatures)
	}
	if _, err := s.Sign([]byte("Subject: no sender\r\n\r\nHi\r\n"), signedAt); err == nil {
		t.Error("signed a message without From:")
	}
}

// TestCanonicalization is RFC 6376 §3.4.6's example.
func TestCanonicalization(t *testing.T) {
	header := []byte("A: X\r\nB : Y\t\r\n\tZ  \r\n")
	body := []byte(" C \r\nD \t E\r\n\r\n\r\n")
	var relaxed []string
	for _, f := range parseFields(header) {
		relaxed = append(relaxed, canonicalField(f, true))
	}
	if got := strings.Join(relaxed, "\r\n") + "\r\n"; got != "a:X\r\nb:Y Z\r\n" {
		t.Errorf("relaxed header %q", got)
	}
	if got := string(canonicalBody(body, true)); got != " C\r\nD E\r\n" {
		t.Errorf("relaxed body %q", got)
	}
	if got := string(canonicalBody(body, false)); got != " C \r\nD \t E\r\n" {
		t.Errorf("simple body %q", got)
	}
	if got := string(canonicalBody(nil, false)); got != "\r\n" {
		t.Errorf("simple empty body %q", got)
	}
	if got := canonicalBody(nil, true); len(got) != 0 {
		t.Errorf("relaxed empty body %q", got)
	}
}

// TestWithGoMsgauth checks both ways against an implementation nobody on
// this project wrote: it verifies our signatures, and we verify its
// Ed25519 and RSA ones in both canonicalizations.
func TestWithGoMsgauth(t *testing.T) {
	s := testSigner()
	records := map[string]string{KeyName("lab", "example.com"): KeyRecord(s.Key.Public().(ed25519.PublicKey))}
	lookupTXT := func(name string) ([]string, error) {
		if r, ok := records[name]; ok {
			return []string{r}, nil
		}
		return nil, errors.New("no such name")
	}
	verifications, err := msgauth.VerifyWithOptions(strings.NewReader(signed(t, s, message)), &msgauth.VerifyOptions{LookupTXT: lookupTXT})
	if err != nil || len(verifications) != 1 || verifications[0].Err != nil {
		t.Fatalf("go-msgauth verifying ours: %v %+v", err, verifications)
	}

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	records[KeyName("rsa", "example.net")] = "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der)
	for _, c := range []struct {
		signer   crypto.Signer
		domain   string
		selector string
		canon    msgauth.Canonicalization
	}{
		{s.Key, "example.com", "lab", msgauth.CanonicalizationRelaxed},
		{s.Key, "example.com", "lab", msgauth.CanonicalizationSimple},
		{rsaKey, "example.net", "rsa", msgauth.CanonicalizationRelaxed},
		{rsaKey, "example.net", "rsa", msgauth.CanonicalizationSimple},
	} {
		var out bytes.Buffer
		err := msgauth.Sign(&out, strings.NewReader(message), &msgauth.SignOptions{
			Domain: c.domain, Selector: c.selector, Signer: c.signer, Hash: crypto.SHA256,
			HeaderCanonicalization: c.canon, BodyCanonicalization: c.canon,
			HeaderKeys: []string{"From", "To", "Subject", "Date"},
		})
		if err != nil {
			t.Fatal(err)
		}
		lookup := func(name string, _ dns.Type) ([]dns.Record, error) {
			txt, err := lookupTXT(name)
			if err != nil {
				return nil, dns.ErrNXDomain
			}
			return []dns.Record{{Name: name, Type: dns.TXT, Text: txt[0]}}, nil
		}
		got := Verify(out.Bytes(), lookup, signedAt)
		if len(got) != 1 || got[0].Status != Pass || got[0].Domain != c.domain {
			t.Errorf("%s %s signed by go-msgauth: %+v", c.domain, c.canon, got)
		}
	}
}

func TestKeyRecord(t *testing.T) {
	pub := testSigner().Key.Public().(ed25519.PublicKey)
	if got := KeyRecord(pub); got != "v=DKIM1; k=ed25519; p="+base64.StdEncoding.EncodeToString(pub) {
		t.Errorf("KeyRecord = %q", got)
	}
	if got := KeyName("lab", "example.com."); got != "lab._domainkey.example.com" {
		t.Errorf("KeyName = %q", got)
	}
}

// FuzzVerify: whatever a message holds, Verify answers without panicking,
// at most MaxSignatures times, and a pass always names a domain.
func FuzzVerify(f *testing.F) {
	s := testSigner()
	field, err := s.Sign([]byte(message), signedAt)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(field + "\r\n" + message))
	f.Add([]byte("DKIM-Signature\r\n\r\n"))
	f.Add([]byte("dkim-signature: b=; bh=; v=1;;\r\n d=x\r\n\r\nbody"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		for _, r := range Verify(msg, keys(s), signedAt) {
			if r.Status == Pass && r.Domain == "" {
				t.Fatalf("a pass without a domain: %+v", r)
			}
		}
	})
}

// trickyMessages are the messages on which canonicalization goes wrong:
// spacing at the ends of lines, empty lines at the end, folded fields,
// names in other cases, a body without its last CRLF or with none at all.
var trickyMessages = map[string]string{
	"trailing spaces and empty lines":  "From: alice@example.com \r\nTo:\tbob@example.org\t\r\nSubject: hi  \r\n\r\nline  one \t\r\n\t indented\r\n \r\n\r\n\r\n",
	"folded fields, names in capitals": "FROM: Alice\r\n <alice@example.com>\r\nsubject: a long\r\n\t subject\r\n  folded twice\r\nTo : bob@example.org\r\n\r\nHello.\r\n",
	"no CRLF at the end":               "From: alice@example.com\r\nSubject: x\r\n\r\nno end of line",
	"empty body":                       "From: alice@example.com\r\nSubject: empty\r\n\r\n",
	"only empty lines":                 "From: alice@example.com\r\nSubject: blank\r\n\r\n\r\n\r\n\r\n",
	"only spaces in the body":          "From: alice@example.com\r\nSubject: spaces\r\n\r\n  \r\n\t\r\n",
	"two To: fields":                   "From: alice@example.com\r\nTo: one@example.org\r\nTo: two@example.org\r\nSubject: twice\r\n\r\nHi\r\n",
}

// goMsgauthLookup answers go-msgauth's key lookups from records.
func goMsgauthLookup(records map[string]string) func(string) ([]string, error) {
	return func(name string) ([]string, error) {
		if r, ok := records[name]; ok {
			return []string{r}, nil
		}
		return nil, errors.New("no such name")
	}
}

// goMsgauthSign signs msg with go-msgauth.
func goMsgauthSign(t *testing.T, msg string, o msgauth.SignOptions) string {
	t.Helper()
	if o.Domain == "" {
		s := testSigner()
		o.Domain, o.Selector, o.Signer = s.Domain, s.Selector, s.Key
	}
	o.Hash = crypto.SHA256
	var out bytes.Buffer
	if err := msgauth.Sign(&out, strings.NewReader(msg), &o); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// goMsgauthPasses reports whether go-msgauth verifies every signature of msg.
func goMsgauthPasses(t *testing.T, msg string, records map[string]string) bool {
	t.Helper()
	vs, err := msgauth.VerifyWithOptions(strings.NewReader(msg), &msgauth.VerifyOptions{LookupTXT: goMsgauthLookup(records)})
	if err != nil || len(vs) == 0 {
		return false
	}
	for _, v := range vs {
		if v.Err != nil {
			return false
		}
	}
	return true
}

// TestTrickyMessagesWithGoMsgauth signs each tricky message with go-msgauth
// in the four canonicalizations and verifies it with ours, signs it with
// ours and verifies it with go-msgauth, then changes each signed message
// the ways mail is changed on its way and checks that both
// implementations agree on whether the signature survived.
func TestTrickyMessagesWithGoMsgauth(t *testing.T) {
	s := testSigner()
	records := map[string]string{KeyName(s.Selector, s.Domain): KeyRecord(s.Key.Public().(ed25519.PublicKey))}
	changes := map[string]func(string) string{
		"nothing":                      func(m string) string { return m },
		"spaces at the end of a field": func(m string) string { return strings.Replace(m, "\r\nSubject:", " \r\nSubject:", 1) },
		"a field refolded": func(m string) string {
			return strings.Replace(m, "Subject: ", "Subject:\r\n ", 1)
		},
		"field names in lower case": func(m string) string {
			return strings.NewReplacer("\nFROM:", "\nfrom:", "\nFrom:", "\nfrom:", "\nSubject:", "\nsubject:").Replace(m)
		},
		"empty lines added at the end":  func(m string) string { return m + "\r\n\r\n" },
		"spaces at the end of the body": func(m string) string { return m + "  \r\n" },
		"a footer":                      func(m string) string { return m + "-- \r\nlist footer\r\n" },
		"a Received field on top":       func(m string) string { return "Received: by relay.example\r\n" + m },
	}
	canons := []msgauth.Canonicalization{msgauth.CanonicalizationSimple, msgauth.CanonicalizationRelaxed}
	for name, msg := range trickyMessages {
		var signedMsgs []string
		for _, hc := range canons {
			for _, bc := range canons {
				signedMsgs = append(signedMsgs, goMsgauthSign(t, msg, msgauth.SignOptions{
					HeaderCanonicalization: hc, BodyCanonicalization: bc, HeaderKeys: []string{"From", "To", "Subject"}}))
			}
		}
		signedMsgs = append(signedMsgs, signed(t, s, msg))
		for i, sm := range signedMsgs {
			for change, f := range changes {
				m := f(sm)
				got := Verify([]byte(m), keys(s), signedAt)
				want := goMsgauthPasses(t, m, records)
				if len(got) != 1 || (got[0].Status == Pass) != want {
					t.Errorf("%s, signature %d, %s: ours %+v, go-msgauth passes: %v\n%q", name, i, change, got, want, m)
				}
				if change == "nothing" && !want {
					t.Errorf("%s, signature %d: does not verify as signed", name, i)
				}
			}
		}
	}
}

// TestOverSigning: h= naming a field twice signs both instances, bottom
// up, and naming a field the message lacks (over-signing) forbids adding
// it later (RFC 6376 §5.4.2). Signed by go-msgauth, verified by both.
func TestOverSigning(t *testing.T) {
	s := testSigner()
	records := map[string]string{KeyName(s.Selector, s.Domain): KeyRecord(s.Key.Public().(ed25519.PublicKey))}
	msg := goMsgauthSign(t, trickyMessages["two To: fields"], msgauth.SignOptions{
		HeaderCanonicalization: msgauth.CanonicalizationRelaxed, BodyCanonicalization: msgauth.CanonicalizationRelaxed,
		HeaderKeys: []string{"From", "To", "To", "To", "Subject", "Reply-To"}})
	for _, c := range []struct {
		name   string
		change func(string) string
		want   Status
	}{
		{"as signed", func(m string) string { return m }, Pass},
		{"a Reply-To: added", func(m string) string {
			return strings.Replace(m, "\r\n\r\nHi", "\r\nReply-To: mallory@example.net\r\n\r\nHi", 1)
		}, Fail},
		{"a third To: added", func(m string) string {
			return strings.Replace(m, "\r\n\r\nHi", "\r\nTo: mallory@example.net\r\n\r\nHi", 1)
		}, Fail},
		{"the two To: fields swapped", func(m string) string {
			return strings.Replace(strings.Replace(m, "To: one", "To: TMP", 1), "To: two", "To: one", 1)
		}, Fail},
		{"a Cc: added, which is not signed", func(m string) string {
			return strings.Replace(m, "\r\n\r\nHi", "\r\nCc: carol@example.org\r\n\r\nHi", 1)
		}, Pass},
	} {
		m := c.change(msg)
		got := Verify([]byte(m), keys(s), signedAt)
		if len(got) != 1 || got[0].Status != c.want {
			t.Errorf("%s: %+v, want %s", c.name, got, c.want)
		}
		if ref := goMsgauthPasses(t, m, records); ref != (c.want == Pass) {
			t.Errorf("%s: go-msgauth passes: %v, we want %s", c.name, ref, c.want)
		}
	}
}

// TestSignatureTags: x= (expiry) against the clock Verify is given, i=
// within d=, and l= (a signed length of the body), on signatures made by
// go-msgauth or edited into ours.
func TestSignatureTags(t *testing.T) {
	s := testSigner()
	now := time.Now()
	expiring := goMsgauthSign(t, message, msgauth.SignOptions{Expiration: now.Add(time.Hour),
		HeaderCanonicalization: msgauth.CanonicalizationRelaxed, BodyCanonicalization: msgauth.CanonicalizationRelaxed})
	for _, c := range []struct {
		at   time.Time
		want Status
	}{{now, Pass}, {now.Add(2 * time.Hour), PermError}} {
		if got := Verify([]byte(expiring), keys(s), c.at); len(got) != 1 || got[0].Status != c.want {
			t.Errorf("x= an hour after t=, verified %s later: %+v, want %s", c.at.Sub(now).Round(time.Hour), got, c.want)
		}
	}
	field, err := s.Sign([]byte(message), signedAt)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, from, to string
		why            string // of a permerror; "" for a signature whose tags are fine (it fails: it was edited)
	}{
		{"x= before t=", "t=", "x=1767600000; t=", "not after its t="},
		{"x= not a number", "t=", "x=soon; t=", "not a time"},
		{"x= in the future", "t=", "x=1767700000; t=", ""},
		{"i= outside d=", "t=", "i=alice@example.net; t=", "not in its d= domain"},
		{"i= a look-alike of d=", "t=", "i=@badexample.com; t=", "not in its d= domain"},
		{"i= in a subdomain of d=", "t=", "i=alice@Mail.Example.COM; t=", ""},
		{"l= with a sign", "t=", "l=+5; t=", "l= (+5)"},
	} {
		got := Verify([]byte(strings.Replace(field, c.from, c.to, 1)+"\r\n"+message), keys(s), signedAt)
		switch {
		case len(got) != 1:
			t.Errorf("%s: %+v", c.name, got)
		case c.why == "" && (got[0].Status != Fail || !strings.Contains(got[0].Why, "signature did not verify")):
			t.Errorf("%s: %+v, want only the signature to fail", c.name, got)
		case c.why != "" && (got[0].Status != PermError || !strings.Contains(got[0].Why, c.why)):
			t.Errorf("%s: %+v, want permerror (%s)", c.name, got, c.why)
		}
	}
}

// TestKeyRecordTags: what a key record's tags other than p= do: t=y marks
// a domain that is testing, h= and s= restrict the key's use, an RSA key
// may be published bare (PKCS#1), and one shorter than 1024 bits is not
// trusted (RFC 8301).
func TestKeyRecordTags(t *testing.T) {
	s := testSigner()
	msg := []byte(signed(t, s, message))
	name := KeyName("lab", "example.com")
	pub := base64.StdEncoding.EncodeToString(s.Key.Public().(ed25519.PublicKey))
	for _, c := range []struct {
		record string
		want   Status
		why    string
	}{
		{"v=DKIM1; k=ed25519; t=y; p=" + pub, Pass, "only testing DKIM (t=y)"},
		{"v=DKIM1; k=ed25519; t=s:y; p=" + pub, Pass, "(t=y)"},
		{"v=DKIM1; k=ed25519; h=sha256; s=email; p=" + pub, Pass, "verified"},
		{"v=DKIM1; k=ed25519; s=*; p=" + pub, Pass, "verified"},
		{"v=DKIM1; k=ed25519; h=sha1; p=" + pub, PermError, "not for sha256"},
		{"v=DKIM1; k=ed25519; s=tlsrpt; p=" + pub, PermError, "not for email"},
		{"v=DKIM2; k=ed25519; p=" + pub, PermError, "cannot be read"},
	} {
		got := Verify(msg, zone(map[string]string{name: c.record}), signedAt)
		if len(got) != 1 || got[0].Status != c.want || !strings.Contains(got[0].Why, c.why) {
			t.Errorf("%s: %+v, want %s (%s)", c.record, got, c.want, c.why)
		}
	}

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaSigned := goMsgauthSign(t, message, msgauth.SignOptions{Domain: "example.net", Selector: "rsa", Signer: rsaKey})
	pkcs1 := base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey))
	lookup := zone(map[string]string{KeyName("rsa", "example.net"): "v=DKIM1; k=rsa; p=" + pkcs1})
	if got := Verify([]byte(rsaSigned), lookup, signedAt); len(got) != 1 || got[0].Status != Pass {
		t.Errorf("an RSA key published as PKCS#1: %+v, want a pass", got)
	}
	// A 512-bit key: only its length is read, before any signature.
	short, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 511), E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	lookup = zone(map[string]string{KeyName("rsa", "example.net"): "v=DKIM1; p=" + base64.StdEncoding.EncodeToString(short)})
	if got := Verify([]byte(rsaSigned), lookup, signedAt); len(got) != 1 || got[0].Status != PermError || !strings.Contains(got[0].Why, "512 bits") {
		t.Errorf("a 512-bit RSA key: %+v, want a permerror", got)
	}
}

// TestBodyLength: l= signs only the start of the body, so what a list
// adds below it does not break the signature (the reason RFC 6376 §8.2
// warns against l=), while a change inside it does.
func TestBodyLength(t *testing.T) {
	s := testSigner()
	header, body := split([]byte(message))
	n := len(canonicalBody(body, true))
	for _, c := range []struct {
		name   string
		l      int
		change func(string) string
		want   Status
	}{
		{"as signed", n, func(m string) string { return m }, Pass},
		{"a footer below the signed length", n, func(m string) string { return m + "-- \r\nlist footer\r\n" }, Pass},
		{"a change inside it", n, func(m string) string { return strings.Replace(m, "Hello Bob", "Hello Eve", 1) }, Fail},
		{"l=0, the body replaced", 0, func(m string) string { return strings.Replace(m, "Hello Bob", "Hello Eve", 1) }, Pass},
	} {
		fields := parseFields(header)
		names := []string{"From", "Subject"}
		bh := sha256.Sum256(canonicalBody(body, true)[:c.l])
		sig := fmt.Sprintf("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=lab; l=%d; h=From:Subject; bh=%s; b=",
			c.l, base64.StdEncoding.EncodeToString(bh[:]))
		sig += base64.StdEncoding.EncodeToString(ed25519.Sign(s.Key, headerHash(fields, names, sig, true)))
		got := Verify([]byte(c.change(sig+"\r\n"+message)), keys(s), signedAt)
		if len(got) != 1 || got[0].Status != c.want {
			t.Errorf("%s: %+v, want %s", c.name, got, c.want)
		}
	}
}

// TestTwoSignatures: a message signed by go-msgauth for example.net (over
// From: only) and then by us for example.com. Each signature is verified
// on its own, top one first, and both implementations agree on each.
func TestTwoSignatures(t *testing.T) {
	s := testSigner()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	records := map[string]string{
		KeyName(s.Selector, s.Domain): KeyRecord(s.Key.Public().(ed25519.PublicKey)),
		KeyName("rsa", "example.net"): "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der),
	}
	inner := goMsgauthSign(t, message, msgauth.SignOptions{Domain: "example.net", Selector: "rsa", Signer: rsaKey,
		HeaderCanonicalization: msgauth.CanonicalizationRelaxed, BodyCanonicalization: msgauth.CanonicalizationRelaxed,
		HeaderKeys: []string{"From"}})
	both := signed(t, s, inner)
	lookup := func(name string, _ dns.Type) ([]dns.Record, error) {
		if r, ok := records[name]; ok {
			return []dns.Record{{Name: name, Type: dns.TXT, Text: r}}, nil
		}
		return nil, dns.ErrNXDomain
	}
	for _, c := range []struct {
		name       string
		change     func(string) string
		ours, rsas Status // the top signature's status, then the other's
	}{
		{"as signed", func(m string) string { return m }, Pass, Pass},
		{"the subject edited", func(m string) string { return strings.Replace(m, "Lunch", "Dinner", 1) }, Fail, Pass},
		{"the body edited", func(m string) string { return strings.Replace(m, "Hello Bob", "Hello Eve", 1) }, Fail, Fail},
	} {
		m := c.change(both)
		got := Verify([]byte(m), lookup, signedAt)
		if len(got) != 2 || got[0].Status != c.ours || got[0].Domain != "example.com" || got[1].Status != c.rsas || got[1].Domain != "example.net" {
			t.Errorf("%s: %+v, want %s then %s", c.name, got, c.ours, c.rsas)
		}
		ref, err := msgauth.VerifyWithOptions(strings.NewReader(m), &msgauth.VerifyOptions{LookupTXT: goMsgauthLookup(records)})
		if err != nil || len(ref) != 2 {
			t.Fatalf("%s: go-msgauth: %v %+v", c.name, err, ref)
		}
		for i, want := range []Status{c.ours, c.rsas} {
			if (ref[i].Err == nil) != (want == Pass) {
				t.Errorf("%s: go-msgauth on signature %d: %v, we want %s", c.name, i, ref[i].Err, want)
			}
		}
	}
}
