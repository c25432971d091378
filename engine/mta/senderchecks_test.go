package mta

import (
	"maps"
	"strings"
	"testing"

	"smtplab/engine/client"
	"smtplab/engine/dns"
	"smtplab/engine/trace"
)

// TestDMARCDisposition sends the laptop's messages straight to an MX that
// checks SPF and DMARC, with an envelope sender that passes SPF and From:
// lines of domains with each policy, and checks what the MX does with
// each: p=quarantine lets a failing message in marked as junk, p=reject
// refuses it, p=none and a pass change nothing. The stored message says
// so in its header, and its delivery event in its attrs.
func TestDMARCDisposition(t *testing.T) {
	n := testNet(t, func(c *HostConfig) { c.CheckSPF, c.CheckDMARC = true, true }, nil)
	addRecords(t, n,
		`example.com. TXT "v=spf1 ip4:192.0.2.0/24 -all"`,
		`_dmarc.example.com. TXT "v=DMARC1; p=reject"`,
		`_dmarc.shop.example. TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc@shop.example"`,
		`_dmarc.monitor.example. TXT "v=DMARC1; p=none"`,
		`_dmarc.strict.example. TXT "v=DMARC1; p=reject"`,
	)
	laptop, _ := n.Host("laptop.example.com")
	mx, _ := n.Host("mx.example.org")
	cases := []struct {
		from    string // the From: line's address
		code    int    // the reply to the message
		top     string // how the stored message starts, after Return-Path
		results map[string]string
	}{
		{"news@shop.example", 250,
			"X-Spam-Flag: YES\r\nAuthentication-Results: mx.example.org; spf=pass smtp.mailfrom=example.com;\r\n\tdkim=none;\r\n\tdmarc=fail (p=quarantine dis=quarantine) header.from=shop.example\r\nReceived-SPF: pass",
			map[string]string{"spf": "pass", "dkim": "none", "dmarc": "fail", "disposition": "quarantine"}},
		{"news@monitor.example", 250,
			"Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=example.com;\r\n\tdkim=none;\r\n\tdmarc=fail (p=none dis=none) header.from=monitor.example\r\nReceived-SPF: pass",
			map[string]string{"spf": "pass", "dkim": "none", "dmarc": "fail", "disposition": "none"}},
		{"alice@example.com", 250,
			"Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=example.com;\r\n\tdkim=none;\r\n\tdmarc=pass (p=reject) header.from=example.com\r\nReceived-SPF: pass",
			map[string]string{"spf": "pass", "dkim": "none", "dmarc": "pass", "disposition": "none"}},
		{"ceo@strict.example", 550, "", nil},
	}
	// The same failure written the ways RFC 5322 also allows, which a mail
	// program shows as From: ceo@strict.example: they must not slip past.
	// A From: field starting with "From" is written out whole.
	for _, from := range []string{"ceo@strict.example (The CEO)", "ceo@strict.example, news@monitor.example",
		"news@monitor.example, ceo@strict.example", `"news@monitor.example" <ceo@strict.example>`,
		"(news@monitor.example) ceo@strict.example", "From : ceo@strict.example", "From\t: Undisclosed: ceo@strict.example;",
		"From: news@monitor.example\r\nFrom: ceo@strict.example"} {
		cases = append(cases, struct {
			from    string
			code    int
			top     string
			results map[string]string
		}{from, 550, "", nil})
	}
	for _, c := range cases {
		before := len(mx.Mailboxes.Messages("bob@example.org"))
		env, err := client.ParseEnvelope("alice@example.com", "bob@example.org")
		if err != nil {
			t.Fatal(err)
		}
		var out client.Outcome
		field := "From: " + c.from
		if strings.HasPrefix(c.from, "From") {
			field = c.from // the whole field, written oddly
		}
		n.Send(SendRequest{From: laptop, To: "mx.example.org", Port: 25, Config: client.Config{Hostname: "laptop.example.com"},
			Envelope: env, Data: []byte(field + "\r\nSubject: " + c.from + "\r\n\r\nHello.\r\n"),
			Done: func(o client.Outcome, err error) {
				if err != nil {
					t.Fatalf("connect: %v", err)
				}
				out = o
			}})
		n.Net.Settle()
		if out.Reply.Code != c.code {
			t.Errorf("From: %s got %d %s, want %d", c.from, out.Reply.Code, out.Reply.Text(), c.code)
			continue
		}
		box := mx.Mailboxes.Messages("bob@example.org")
		if c.code != 250 {
			if len(box) != before {
				t.Errorf("From: %s was refused, but delivered all the same", c.from)
			}
			continue
		}
		if len(box) != before+1 {
			t.Fatalf("From: %s: bob has %d messages, want %d", c.from, len(box), before+1)
		}
		if raw, want := string(box[before].Raw), "Return-Path: <alice@example.com>\r\n"+c.top; !strings.HasPrefix(raw, want) {
			t.Errorf("From: %s: the message starts\n%q\nwant\n%q", c.from, raw[:min(len(raw), len(want)+40)], want)
		}
		deliveries := kinds(n.Net.Log(), trace.Delivery)
		if got := deliveries[len(deliveries)-1].Attrs; !maps.Equal(got, c.results) {
			t.Errorf("From: %s: delivery attrs %v, want %v", c.from, got, c.results)
		}
	}
	var said bool
	for _, e := range kinds(n.Net.Log(), trace.Note) {
		said = said || strings.HasPrefix(e.Text, "DMARC check of From: shop.example: fail (p=quarantine). SPF passed for example.com, but that is not aligned") &&
			strings.Contains(e.Text, "Quarantined: the message is accepted, with X-Spam-Flag: YES on top")
	}
	if !said {
		t.Errorf("no note of the quarantine in the trace:\n%s", dump(n.Net.Log()))
	}
}

// TestSPFOfABounce: the null sender of a bounce has no domain, so the MX
// checks the EHLO name instead, as postmaster@ that name (RFC 7208 §2.4):
// a HELO name whose record allows the client passes, one whose record does
// not is refused like any envelope sender.
func TestSPFOfABounce(t *testing.T) {
	n := testNet(t, func(c *HostConfig) { c.CheckSPF = true }, nil)
	addRecords(t, n,
		`laptop.example.com. TXT "v=spf1 ip4:192.0.2.10 -all"`,
		`other.example.com. TXT "v=spf1 -all"`,
	)
	laptop, _ := n.Host("laptop.example.com")
	mx, _ := n.Host("mx.example.org")
	for _, c := range []struct {
		helo string
		code int
		text string // in the reply, or in the stored message's Received-SPF
	}{
		{"laptop.example.com", 250, "Received-SPF: pass (mx.example.org: domain of postmaster@laptop.example.com designates 192.0.2.10 as permitted sender)\r\n\tclient-ip=192.0.2.10; envelope-from=postmaster@laptop.example.com;"},
		{"other.example.com", 550, "<postmaster@other.example.com>: Sender address rejected: SPF validation failed, other.example.com does not allow 192.0.2.10"},
	} {
		env, err := client.ParseEnvelope("", "bob@example.org")
		if err != nil {
			t.Fatal(err)
		}
		var out client.Outcome
		n.Send(SendRequest{From: laptop, To: "mx.example.org", Port: 25, Config: client.Config{Hostname: c.helo},
			Envelope: env, Data: []byte("From: mailer-daemon@" + c.helo + "\r\nSubject: bounce\r\n\r\nHello.\r\n"),
			Done: func(o client.Outcome, err error) {
				if err != nil {
					t.Fatalf("connect: %v", err)
				}
				out = o
			}})
		n.Net.Settle()
		if out.Reply.Code != c.code {
			t.Errorf("EHLO %s, MAIL FROM:<>: got %d %s, want %d", c.helo, out.Reply.Code, out.Reply.Text(), c.code)
			continue
		}
		if c.code != 250 {
			if !strings.Contains(out.Reply.Text(), c.text) {
				t.Errorf("EHLO %s: reply %q, want %q in it", c.helo, out.Reply.Text(), c.text)
			}
			continue
		}
		box := mx.Mailboxes.Messages("bob@example.org")
		if len(box) == 0 || !strings.Contains(string(box[len(box)-1].Raw), c.text) {
			t.Errorf("EHLO %s: the stored message lacks %q:\n%s", c.helo, c.text, dump(n.Net.Log()))
		}
	}
}

func TestFromDomains(t *testing.T) {
	for value, want := range map[string]string{
		"alice@example.com":                               "example.com",
		"Alice <alice@Example.COM>":                       "example.com",
		"alice@example.com (Alice)":                       "example.com",
		`"bob@bank.example" <eve@evil.example>`:           "evil.example",
		`"Bob \"<bob@bank.example>\"" <eve@evil.example>`: "evil.example",
		"(bob@bank.example (nested)) eve@evil.example":    "evil.example",
		"a@one.example, B <b@two.example>, a@ONE.example": "one.example two.example",
		"Team: a@one.example, b@two.example;":             "one.example two.example",
		"Team: <a@one.example>":                           "one.example",
		"<>":                                              "",
		"no address at all":                               "",
	} {
		if got := strings.Join(fromDomains(value), " "); got != want {
			t.Errorf("fromDomains(%q) = %q, want %q", value, got, want)
		}
	}
}

// addRecords adds each record, one zone-file line, to n's zone.
func addRecords(t *testing.T, n *Network, records ...string) {
	t.Helper()
	for _, r := range records {
		z, err := dns.ParseZone(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Resolver.Zone().Add(z.Records()[0]); err != nil {
			t.Fatal(err)
		}
	}
}
