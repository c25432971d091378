package lab

import (
	"strings"
	"testing"
)

func TestScenariosAreValid(t *testing.T) {
	want := []string{"backup-mx", "bad-certificate", "busy-mx", "dns-failure", "first-session", "greylisting", "implicit-tls", "lost-connection", "mailbox-full",
		"mx-routing", "null-mx", "rate-limit", "relay-denied", "size-limit", "smuggling-attempt", "spf-check", "starttls",
		"submission-with-auth", "unknown-user-bounce"}
	infos := Scenarios()
	if len(infos) != len(want) {
		t.Fatalf("Scenarios() has %d entries, want %d: %+v", len(infos), len(want), infos)
	}
	for i, name := range want {
		if infos[i].Name != name {
			t.Errorf("scenario %d is %q, want %q", i, infos[i].Name, name)
		}
		if _, err := LoadScenario(name); err != nil {
			t.Errorf("LoadScenario(%q): %v", name, err)
		}
	}
}

func TestScenarioValidationCatchesMistakes(t *testing.T) {
	good := `{"name":"x","title":"X","purpose":"p","start":"2026-01-05T09:00:00Z",
	  "learner":{"host":"a.example","connect":"a.example","port":25},
	  "hosts":[{"name":"a.example","addrs":["192.0.2.1"],"ports":[25],"domains":["example.org"],"users":["bob@example.org"]}],
	  "zone":"example.org. MX 10 a.example."%s}`
	if _, err := ParseScenario([]byte(strings.Replace(good, "%s", "", 1))); err != nil {
		t.Fatalf("good scenario refused: %v", err)
	}
	bad := map[string]string{
		"unknown field":            `{"nmae":"x"}`,
		"no title":                 strings.Replace(strings.Replace(good, `"title":"X",`, "", 1), "%s", "", 1),
		"unknown fault":            strings.Replace(good, "%s", `,"faults":[{"kind":"meteor"}]`, 1),
		"fault on stranger":        strings.Replace(good, "%s", `,"faults":[{"kind":"down","host":"zz.example"}]`, 1),
		"bad zone":                 strings.Replace(strings.Replace(good, "MX 10 a.example.", "MX ten a.example.", 1), "%s", "", 1),
		"user outside":             strings.Replace(strings.Replace(good, `"bob@example.org"`, `"bob@example.net"`, 1), "%s", "", 1),
		"bad port":                 strings.Replace(strings.Replace(good, `"ports":[25]`, `"ports":[80]`, 1), "%s", "", 1),
		"bad dns fault":            strings.Replace(good, "%s", `,"faults":[{"kind":"dns","name":"example.org","error":"OOPS"}]`, 1),
		"DMARC without SPF":        strings.Replace(strings.Replace(good, `"users":["bob@example.org"]`, `"users":["bob@example.org"],"checkDMARC":true`, 1), "%s", "", 1),
		"submits to stranger":      strings.Replace(strings.Replace(good, `"port":25}`, `"port":25,"submit":"zz.example"}`, 1), "%s", "", 1),
		"DKIM selector with a dot": strings.Replace(strings.Replace(good, `"users":["bob@example.org"]`, `"users":["bob@example.org"],"dkimSelector":"a.b"`, 1), "%s", "", 1),
		"drop two ways":            strings.Replace(good, "%s", `,"faults":[{"kind":"drop","host":"a.example","peer":"a.example","afterBytes":5,"beforeReply":"message-accepted"}]`, 1),
		"DKIM without domains":     strings.Replace(strings.Replace(good, `"domains":["example.org"],"users":["bob@example.org"]`, `"dkimSelector":"lab"`, 1), "%s", "", 1),
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
