package lab

import (
	"strings"
	"testing"

	"smtplab/engine/dns"
	"smtplab/engine/labtls"
)

func TestScenariosAreValid(t *testing.T) {
	want := []string{"backup-mx", "bad-certificate", "busy-mx", "dns-failure", "first-session", "greylisting", "home-network", "implicit-tls", "lost-connection", "mailbox-full",
		"mx-routing", "null-mx", "rate-limit", "relay-denied", "size-limit", "smuggling-attempt", "spf-check", "starttls",
		"starttls-downgrade", "submission-with-auth", "unknown-user-bounce"}
	infos := Scenarios()
	if len(infos) != len(want) {
		t.Fatalf("Scenarios() has %d entries, want %d: %+v", len(infos), len(want), infos)
	}
	for i, name := range want {
		if infos[i].Name != name {
			t.Errorf("scenario %d is %q, want %q", i, infos[i].Name, name)
		}
		// LoadScenario trusts the embedded files to be valid: this is
		// where they are checked.
		sc, err := LoadScenario(name)
		if err != nil {
			t.Errorf("LoadScenario(%q): %v", name, err)
			continue
		}
		if err := sc.Validate(); err != nil {
			t.Errorf("scenario %s: %v", name, err)
		}
	}
}

func TestScenarioValidationCatchesMistakes(t *testing.T) {
	good := `{"name":"x","title":"X","purpose":"p","start":"2026-01-05T09:00:00Z",
	  "learner":{"host":"a.example","connect":"a.example","port":25},
	  "hosts":[{"name":"a.example","addrs":["192.0.2.1"],"ports":[25],"domains":["example.org"],"users":["bob@example.org"]}],
	  "zone":"example.org. MX 10 a.example."%s}`
	for _, extra := range []string{"", `,"dnssec":["example.org"]`} {
		if _, err := ParseScenario([]byte(strings.Replace(good, "%s", extra, 1))); err != nil {
			t.Fatalf("good scenario refused: %v", err)
		}
	}
	bad := map[string]string{
		"unknown field":             `{"nmae":"x"}`,
		"no title":                  strings.Replace(strings.Replace(good, `"title":"X",`, "", 1), "%s", "", 1),
		"unknown fault":             strings.Replace(good, "%s", `,"faults":[{"kind":"meteor"}]`, 1),
		"fault on stranger":         strings.Replace(good, "%s", `,"faults":[{"kind":"down","host":"zz.example"}]`, 1),
		"bad zone":                  strings.Replace(strings.Replace(good, "MX 10 a.example.", "MX ten a.example.", 1), "%s", "", 1),
		"user outside":              strings.Replace(strings.Replace(good, `"bob@example.org"`, `"bob@example.net"`, 1), "%s", "", 1),
		"bad port":                  strings.Replace(strings.Replace(good, `"ports":[25]`, `"ports":[80]`, 1), "%s", "", 1),
		"bad dns fault":             strings.Replace(good, "%s", `,"faults":[{"kind":"dns","name":"example.org","error":"OOPS"}]`, 1),
		"DMARC without SPF":         strings.Replace(strings.Replace(good, `"users":["bob@example.org"]`, `"users":["bob@example.org"],"checkDMARC":true`, 1), "%s", "", 1),
		"submits to stranger":       strings.Replace(strings.Replace(good, `"port":25}`, `"port":25,"submit":"zz.example"}`, 1), "%s", "", 1),
		"DKIM selector with a dot":  strings.Replace(strings.Replace(good, `"users":["bob@example.org"]`, `"users":["bob@example.org"],"dkimSelector":"a.b"`, 1), "%s", "", 1),
		"drop two ways":             strings.Replace(good, "%s", `,"faults":[{"kind":"drop","host":"a.example","peer":"a.example","afterBytes":5,"beforeReply":"message-accepted"}]`, 1),
		"DKIM without domains":      strings.Replace(strings.Replace(good, `"domains":["example.org"],"users":["bob@example.org"]`, `"dkimSelector":"lab"`, 1), "%s", "", 1),
		"DNSSEC for a stranger":     strings.Replace(good, "%s", `,"dnssec":["example.net"]`, 1),
		"block-port without a port": strings.Replace(good, "%s", `,"faults":[{"kind":"block-port","host":"a.example"}]`, 1),
		"block-port on a stranger":  strings.Replace(good, "%s", `,"faults":[{"kind":"block-port","host":"zz.example","port":25}]`, 1),
		"bad outbound TLS":          strings.Replace(strings.Replace(good, `"ports":[25]`, `"ports":[25],"outboundTLS":"paranoid"`, 1), "%s", "", 1),
	}
	for name, src := range bad {
		if _, err := ParseScenario([]byte(src)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := LoadScenario("no-such-world"); err == nil || !strings.Contains(err.Error(), "first-session") {
		t.Errorf("unknown scenario error should list the real ones: %v", err)
	}
}

// TestScenarioTLSARecordsMatch: every TLSA record a scenario publishes for
// one of its hosts, at _25._tcp.<host>, matches the certificate the lab CA
// issues that host, computed here over the certificate itself. The
// records are data in the scenario files, made from the embedded keys
// (labtls.HostTLSA); this keeps them true if a key or a host changes.
func TestScenarioTLSARecordsMatch(t *testing.T) {
	checked := 0
	for _, info := range Scenarios() {
		sc, err := LoadScenario(info.Name)
		if err != nil {
			t.Fatal(err)
		}
		ca, err := labtls.NewAuthority(sc.Start)
		if err != nil {
			t.Fatal(err)
		}
		zone, err := sc.zone()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range zone.Records() {
			if r.Type != dns.TLSA {
				continue
			}
			host, ok := strings.CutPrefix(r.Name, "_25._tcp.")
			variant, known := hostVariant(sc, host)
			if !ok || !known {
				t.Errorf("%s: TLSA record %s is not for port 25 of one of its hosts", sc.Name, r)
				continue
			}
			cert, err := ca.Issue(host, variant)
			if err != nil {
				t.Fatal(err)
			}
			want, err := labtls.NewTLSA(cert.Leaf, labtls.TLSAUsage(r.Usage), labtls.TLSASelector(r.Selector), labtls.TLSAMatching(r.Matching))
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := labtls.ParseTLSA(r.Usage, r.Selector, r.Matching, r.Cert); got.String() != want.String() {
				t.Errorf("%s: %s does not match %s's certificate, whose record is %s", sc.Name, r, host, want)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no scenario publishes a TLSA record")
	}
}

// hostVariant returns the certificate variant of the scenario's host
// called name, and whether the host exists and has a certificate.
func hostVariant(sc *Scenario, name string) (labtls.Variant, bool) {
	for _, h := range sc.Hosts {
		if !strings.EqualFold(h.Name, name) || len(h.Ports) == 0 || h.Cert == "none" {
			continue
		}
		if h.Cert == "" {
			return labtls.Good, true
		}
		return labtls.Variant(h.Cert), true
	}
	return "", false
}

// TestScenarioHasHost: a host is found by its name, written any way DNS
// allows, or by one of its addresses.
func TestScenarioHasHost(t *testing.T) {
	sc, err := LoadScenario("mx-routing")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{
		"mx1.example.org": true, "MX1.Example.ORG.": true, "198.51.100.26": true,
		"mx3.example.org": false, "198.51.100.99": false, "": false, "example.org": false,
	} {
		if got := sc.HasHost(name); got != want {
			t.Errorf("HasHost(%q) = %v, want %v", name, got, want)
		}
	}
}
