package dkim

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
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
	got := Verify([]byte(msg), keys(s))
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
		got := Verify([]byte(c.change(msg)), keys(s))
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
	if got := Verify([]byte(msg), keys(s)); len(got) != 1 || got[0].Status != Pass {
		t.Fatalf("Verify = %+v, want a pass", got)
	}
	changed := strings.Replace(msg, "noon", "nine", 1)
	if got := Verify([]byte(changed), keys(s)); len(got) != 1 || got[0].Status != Fail || !strings.Contains(got[0].Why, "body hash") {
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
		got := Verify(msg, c.lookup)
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
		got := Verify([]byte(c.field+"\r\n"+message), keys(s))
		if len(got) != 1 || got[0].Status != PermError || !strings.Contains(got[0].Why, c.why) {
			t.Errorf("%s: %+v, want permerror (%s)", c.name, got, c.why)
		}
	}
	if got := Verify([]byte(message), keys(s)); len(got) != 0 {
		t.Errorf("an unsigned message gave %+v", got)
	}
	lookups := 0
	counting := func(name string, t dns.Type) ([]dns.Record, error) {
		lookups++
		return keys(s)(name, t)
	}
	many := strings.Repeat(field+"\r\n", 50) + message
	if got := Verify([]byte(many), counting); len(got) != MaxSignatures || lookups != MaxSignatures || got[0].Status != Pass {
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
		got := Verify(out.Bytes(), lookup)
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
		for _, r := range Verify(msg, keys(s)) {
			if r.Status == Pass && r.Domain == "" {
				t.Fatalf("a pass without a domain: %+v", r)
			}
		}
	})
}
