package server

import (
	"strings"
	"testing"
)

// FuzzSession feeds random bytes to a session, whole and one byte at a
// time. It must never panic, the two runs must say exactly the same, and
// memory must stay bounded whatever arrives.
func FuzzSession(f *testing.F) {
	for _, tt := range transcripts {
		f.Add(uint8(0), tt.input)
	}
	f.Add(uint8(1), "EHLO a\r\nAUTH PLAIN\r\n*\r\nAUTH LOGIN YWxpY2U=\r\nc2VjcmV0\r\nMAIL FROM:<alice@example.org>\r\n")
	f.Add(uint8(2), envelope+"BDAT 99999999999 LAST\r\n"+strings.Repeat("z", 3000))
	f.Add(uint8(0), "EHLO a\r\nMAIL FROM:<a@example.com> SMTPUTF8\r\nRCPT TO:<b@example.org> ORCPT=utf-8;b\\x{F6}b\\x{2B}1@example.org\r\n"+
		"RCPT TO:<c@example.org> ORCPT=utf-8;c\xc3\xa4r\\x{0F6}l@example.org\r\nDATA\r\nx\r\n.\r\n")
	f.Fuzz(func(t *testing.T, mode uint8, input string) {
		cfg := testConfig(&labPolicy{})
		cfg.Limits.MessageSize = 2000
		cfg.Limits.MaxErrors = 1000
		opt := SessionOptions{TLSAvailable: true, Nonce: "42"}
		if mode&1 == 1 {
			cfg.Role, opt.TLS = RoleSubmissions, true
		}
		whole, wholeEvents, _ := run(cfg, opt, input, 0)

		cfg.Policy = &labPolicy{}
		srv := New(cfg)
		s := srv.NewSession(opt)
		var out strings.Builder
		var events []string
		collect := func() {
			out.Write(s.Output())
			for _, ev := range s.Events() {
				events = append(events, summarize(ev))
			}
		}
		collect()
		for i := 0; i < len(input); i++ {
			s.Feed([]byte{input[i]})
			collect()
			if n := s.lr.Buffered(); n > s.commandMax()+2 {
				t.Fatalf("line reader holds %d bytes", n)
			}
			if c := cap(s.body); int64(c) > max(firstBody, 2*cfg.Limits.MessageSize+int64(cfg.Limits.TextLine)) {
				t.Fatalf("message buffer grew to %d bytes", c)
			}
		}
		if out.String() != whole {
			t.Fatalf("byte at a time:\n%q\nall at once:\n%q", out.String(), whole)
		}
		if strings.Join(events, "\n") != strings.Join(wholeEvents, "\n") {
			t.Fatalf("events differ:\n%s\nall at once:\n%s", strings.Join(events, "\n"), strings.Join(wholeEvents, "\n"))
		}
	})
}
