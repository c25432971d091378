package lessons

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// webFile returns a file of the page's scripts, which the lessons send
// the learner to.
func webFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../web/js/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestHintsSendLookupsToTheViewsThatShowThem checks that a hint about DNS
// lookups sends the learner where the page shows them: the transcript
// leaves dns.query events out, the Network tab lists them under "DNS
// lookups" and the Timeline & queue tab under "What happened".
func TestHintsSendLookupsToTheViewsThatShowThem(t *testing.T) {
	transcript, panels := webFile(t, "transcript.js"), webFile(t, "panels.js")
	if strings.Contains(transcript, "'dns.query'") {
		t.Fatal("the transcript shows DNS lookups now; this test and the hints that say it does not need a look")
	}
	for _, s := range []string{`'network', 'Network'`, `section('DNS lookups'`, `'timeline', 'Timeline & queue'`, `section('What happened'`} {
		if !strings.Contains(panels, s) {
			t.Fatalf("panels.js has no %s; the hints about DNS lookups name it", s)
		}
	}
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range all {
		for i, h := range l.Hints {
			if !regexp.MustCompile(`(?i)\blookups?\b`).MatchString(h) {
				continue
			}
			n++
			for _, s := range []string{"Network tab", "DNS lookups", "Timeline & queue tab", "What happened"} {
				if !strings.Contains(h, s) {
					t.Errorf("%s, hint %d, speaks of lookups without naming %q: %s", l.Slug, i+1, s, h)
				}
			}
		}
	}
	if n == 0 {
		t.Error("no hint speaks of lookups; lesson 3's did")
	}
}
