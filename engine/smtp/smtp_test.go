package smtp

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestReplyWireForm(t *testing.T) {
	tests := []struct {
		name     string
		reply    Reply
		enhanced bool
		want     string
	}{
		{"single line", Reply{Code: 250, Enhanced: "2.1.5", Lines: []string{"OK"}}, true, "250 2.1.5 OK\r\n"},
		{"enhanced not advertised", Reply{Code: 250, Enhanced: "2.1.5", Lines: []string{"OK"}}, false, "250 OK\r\n"},
		{"multi line", Reply{Code: 250, Lines: []string{"mx.example.org", "PIPELINING", "SIZE 1000"}}, false,
			"250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 1000\r\n"},
		{"multi line enhanced on every line", Reply{Code: 550, Enhanced: "5.1.1", Lines: []string{"no", "such user"}}, true,
			"550-5.1.1 no\r\n550 5.1.1 such user\r\n"},
		{"no text", Reply{Code: 354}, true, "354 \r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(tt.reply.AppendTo(nil, tt.enhanced)); got != tt.want {
				t.Fatalf("AppendTo = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReplyClasses(t *testing.T) {
	for code, want := range map[int][3]bool{250: {true, false, false}, 354: {true, false, false}, 451: {false, true, false}, 554: {false, false, true}} {
		r := Reply{Code: code}
		if got := [3]bool{r.Positive(), r.Transient(), r.Permanent()}; got != want {
			t.Errorf("code %d: positive/transient/permanent = %v, want %v", code, got, want)
		}
	}
}

func TestReplyReader(t *testing.T) {
	var rr ReplyReader
	lines := []string{"250-mx.example.org greets you", "250-SIZE 1000", "250 2.0.0 PIPELINING"}
	for i, l := range lines {
		r, done, err := rr.Feed([]byte(l))
		if err != nil {
			t.Fatalf("line %d: %v", i, err)
		}
		if done != (i == len(lines)-1) {
			t.Fatalf("line %d: done = %v", i, done)
		}
		if done {
			if r.Code != 250 || r.Enhanced != "" || len(r.Lines) != 3 || r.Lines[2] != "2.0.0 PIPELINING" {
				t.Fatalf("reply = %+v; an enhanced code on only the last line must stay text", r)
			}
		}
	}
	r, done, err := rr.Feed([]byte("550 5.1.1 <bob@example.org>: no such user"))
	if err != nil || !done || r.Enhanced != "5.1.1" || r.Lines[0] != "<bob@example.org>: no such user" {
		t.Fatalf("enhanced reply = %+v, %v, %v", r, done, err)
	}
	if _, _, err := rr.Feed([]byte("421 4.7.1 wrong class")); err != nil {
		t.Fatalf("feed: %v", err)
	}
	if _, _, err := rr.Feed([]byte("250-a")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := rr.Feed([]byte("251 b")); !errors.Is(err, ErrBadReply) {
		t.Fatalf("mixed codes: err = %v, want ErrBadReply", err)
	}
	for _, bad := range []string{"", "25", "abc", "199 too low", "600 too high", "250x"} {
		if _, err := ParseReplyLine([]byte(bad)); !errors.Is(err, ErrBadReply) {
			t.Errorf("ParseReplyLine(%q) err = %v, want ErrBadReply", bad, err)
		}
	}
	var rr2 ReplyReader
	if r, _, _ := rr2.Feed([]byte("451 5.7.1 class mismatch")); r.Enhanced != "" {
		t.Errorf("an enhanced code whose class differs from the reply's must not be split off: %+v", r)
	}
}

func TestValidEnhanced(t *testing.T) {
	for s, want := range map[string]bool{"2.0.0": true, "5.1.10": true, "4.999.999": true, "3.0.0": false, "2.0": false, "2..0": false, "2.1000.0": false, "x.1.1": false} {
		if got := ValidEnhanced(s); got != want {
			t.Errorf("ValidEnhanced(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line    string
		verb    Verb
		arg     string
		wantErr bool
	}{
		{"EHLO client.example.com", EHLO, "client.example.com", false},
		{"ehlo x", EHLO, "x", false},
		{"MAIL FROM:<a@b.c> SIZE=10", MAIL, "FROM:<a@b.c> SIZE=10", false},
		{"quit", QUIT, "", false},
		{"XYZZY", Verb("XYZZY"), "", false},
		{"", "", "", true},
		{" EHLO", "", "", true},
		{"MA1L FROM:<x@y>", "", "", true},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ", "", "", true},
	}
	for _, tt := range tests {
		cmd, err := ParseCommand([]byte(tt.line))
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseCommand(%q) err = %v, wantErr %v", tt.line, err, tt.wantErr)
			continue
		}
		if err == nil && (cmd.Verb != tt.verb || cmd.Arg != tt.arg) {
			t.Errorf("ParseCommand(%q) = %+v, want verb %q arg %q", tt.line, cmd, tt.verb, tt.arg)
		}
	}
	if !EHLO.Known() || Verb("XYZZY").Known() || !Verb("STARTTLS").Known() || Verb("ehlo").Known() {
		t.Error("Known() is wrong")
	}
	line := []byte("RCPT TO:<bob@example.org>")
	verb, arg, err := CutVerb(line)
	if err != nil || verb != RCPT || string(arg) != "TO:<bob@example.org>" || &arg[0] != &line[5] {
		t.Errorf("CutVerb(%q) = %q, %q, %v; want RCPT and the rest of the line itself", line, verb, arg, err)
	}
}

func TestParsePath(t *testing.T) {
	lim := DefaultLimits()
	long := strings.Repeat("a", 65)
	tests := []struct {
		in    string
		opt   PathOptions
		want  string // Path.String(), or "" for an error
		rest  string
		field string // PathError.Field for errors
	}{
		{"<bob@example.org>", PathOptions{Limits: lim}, "<bob@example.org>", "", ""},
		{"<bob@example.org> SIZE=100", PathOptions{Limits: lim}, "<bob@example.org>", "SIZE=100", ""},
		{"<>", PathOptions{Limits: lim, Reverse: true}, "<>", "", ""},
		{"<>", PathOptions{Limits: lim}, "", "", "path"},
		{"<Postmaster>", PathOptions{Limits: lim}, "<Postmaster>", "", ""},
		{`<"john doe"@example.org>`, PathOptions{Limits: lim}, `<"john doe"@example.org>`, "", ""},
		{`<"a>b"@example.org>`, PathOptions{Limits: lim}, `<"a>b"@example.org>`, "", ""},
		{`<"a\"b"@example.org>`, PathOptions{Limits: lim}, `<"a\"b"@example.org>`, "", ""},
		{`<"a"b"@example.org>`, PathOptions{Limits: lim}, "", "", "local-part"},
		{"<user@[192.0.2.1]>", PathOptions{Limits: lim}, "<user@[192.0.2.1]>", "", ""},
		{"<user@[IPv6:2001:db8::1]>", PathOptions{Limits: lim}, "<user@[IPv6:2001:db8::1]>", "", ""},
		{"<user@[300.1.1.1]>", PathOptions{Limits: lim}, "", "", "domain"},
		{"<@relay.example:bob@example.org>", PathOptions{Limits: lim}, "<bob@example.org>", "", ""},
		{"bob@example.org", PathOptions{Limits: lim}, "", "", "path"},
		{"<bob@example.org", PathOptions{Limits: lim}, "", "", "path"},
		{"<bob>", PathOptions{Limits: lim}, "", "", "domain"},
		{"<bob@>", PathOptions{Limits: lim}, "", "", "domain"},
		{"<@example.org>", PathOptions{Limits: lim}, "", "", "path"},
		{"<.bob@example.org>", PathOptions{Limits: lim}, "", "", "local-part"},
		{"<bo..b@example.org>", PathOptions{Limits: lim}, "", "", "local-part"},
		{"<bo b@example.org>", PathOptions{Limits: lim}, "", "", "local-part"},
		{"<bob@exa_mple.org>", PathOptions{Limits: lim}, "", "", "domain"},
		{"<bob@-example.org>", PathOptions{Limits: lim}, "", "", "domain"},
		{"<bob@example..org>", PathOptions{Limits: lim}, "", "", "domain"},
		{"<" + long + "@example.org>", PathOptions{Limits: lim}, "", "", "local-part"},
		{"<bob@" + strings.Repeat("a.", 130) + "org>", PathOptions{Limits: lim}, "", "", "length"},
		{"<bob@example.org>x", PathOptions{Limits: lim}, "", "", "path"},
		{"<jürgen@example.org>", PathOptions{Limits: lim}, "", "", "local-part"},
		{"<jürgen@bücher.example>", PathOptions{Limits: lim, UTF8: true}, "<jürgen@bücher.example>", "", ""},
	}
	for _, tt := range tests {
		p, rest, err := ParsePath(tt.in, tt.opt)
		if tt.want == "" {
			var pe *PathError
			if !errors.As(err, &pe) {
				t.Errorf("ParsePath(%q) = %v, %v; want a PathError", tt.in, p, err)
			} else if pe.Field != tt.field {
				t.Errorf("ParsePath(%q) error field %q (%v), want %q", tt.in, pe.Field, err, tt.field)
			}
			continue
		}
		if err != nil || p.String() != tt.want || rest != tt.rest {
			t.Errorf("ParsePath(%q) = %q, rest %q, err %v; want %q, rest %q", tt.in, p.String(), rest, err, tt.want, tt.rest)
		}
	}
}

func TestParseMailAndRcptArgs(t *testing.T) {
	lim := DefaultLimits()
	p, ps, err := ParseMailArg("FROM:<alice@example.com> SIZE=1024 BODY=8BITMIME RET=HDRS", lim)
	if err != nil || p.Mailbox.Domain != "example.com" || len(ps) != 3 {
		t.Fatalf("MAIL arg = %v %v %v", p, ps, err)
	}
	if v, ok := ps.Get("size"); !ok || v != "1024" {
		t.Fatalf("SIZE = %q, %v", v, ok)
	}
	if p, _, err := ParseMailArg("from: <>", lim); err != nil || !p.Null {
		t.Fatalf("null sender with space after colon: %v %v", p, err)
	}
	if p, _, err := ParseMailArg("FROM:<jürgen@example.com> SMTPUTF8", lim); err != nil || p.Mailbox.Local != "jürgen" {
		t.Fatalf("SMTPUTF8 sender: %v %v", p, err)
	}
	for _, bad := range []string{"TO:<a@b.c>", "FROM<a@b.c>", "FROM:<a@b.c> SIZE=", "FROM:<a@b.c> =1", "FROM:<a@b.c> SIZE=1 SIZE=2", "FROM:<a@b.c> X=a=b"} {
		if _, _, err := ParseMailArg(bad, lim); err == nil {
			t.Errorf("ParseMailArg(%q) accepted", bad)
		}
	}
	if _, _, err := ParseRcptArg("TO:<>", lim, false); err == nil {
		t.Error("RCPT TO:<> accepted")
	}
	if p, ps, err := ParseRcptArg("to:<bob@example.org> NOTIFY=SUCCESS,FAILURE", lim, false); err != nil || p.Mailbox.Local != "bob" || len(ps) != 1 {
		t.Fatalf("RCPT = %v %v %v", p, ps, err)
	}
	if _, _, err := ParseRcptArg("TO:<bøb@example.org>", lim, false); err == nil {
		t.Error("UTF-8 recipient accepted without SMTPUTF8")
	}
	// The Append forms add to what the list holds; a parameter given
	// twice is one given twice in the same command.
	dst := Params{{Key: "SIZE", Value: "1", Set: true}}
	if _, ps, err := AppendMailArg(dst, "FROM:<a@b.c> SIZE=2 SMTPUTF8", lim); err != nil || len(ps) != 3 || ps[0] != dst[0] || ps[1].Value != "2" {
		t.Errorf("AppendMailArg = %+v, %v", ps, err)
	}
	if _, ps, err := AppendRcptArg(dst, "TO:<a@b.c> NOTIFY=NEVER", lim, false); err != nil || len(ps) != 2 || ps[0] != dst[0] || ps[1].Key != "NOTIFY" {
		t.Errorf("AppendRcptArg = %+v, %v", ps, err)
	}
	// Only ASCII white space separates parameters: U+00A0, U+0085 and
	// U+2000 are characters of a UTF-8 value, kept, not cut out.
	for _, orcpt := range []string{"utf-8;a\u00a0b@x.example", "utf-8;ab@x.example\u2000", "utf-8;\u0085ab@x.example"} {
		if _, ps, err := ParseRcptArg("TO:<bob@example.org> ORCPT="+orcpt+" NOTIFY=NEVER", lim, true); err != nil || len(ps) != 2 || ps[0].Value != orcpt {
			t.Errorf("ORCPT=%q read as %+v, %v", orcpt, ps, err)
		}
	}
}

func TestXtext(t *testing.T) {
	for _, s := range []string{"plain", "a+b=c", "rfc822;bob@example.org", "spa ce", "\x00\xff"} {
		enc := EncodeXtext(s)
		dec, err := DecodeXtext(enc)
		if err != nil || dec != s {
			t.Errorf("round trip of %q via %q = %q, %v", s, enc, dec, err)
		}
	}
	if got := EncodeXtext("a+b=c d"); got != "a+2Bb+3Dc+20d" {
		t.Errorf("EncodeXtext = %q", got)
	}
	for _, bad := range []string{"a+2", "a+zz", "a+2b", "a=b", "a b"} {
		if _, err := DecodeXtext(bad); err == nil {
			t.Errorf("DecodeXtext(%q) accepted", bad)
		}
	}
}

// readAll feeds input in chunks of size n and collects every line.
func readAll(input string, max, n int) []string {
	r := NewLineReader(max)
	var out []string
	for i := 0; i < len(input); i += n {
		end := min(i+n, len(input))
		r.Feed([]byte(input[i:end]))
		for {
			line, flaw, ok := r.Next()
			if !ok {
				break
			}
			out = append(out, flaw.String()+":"+string(line))
		}
	}
	return out
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 600)
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"crlf lines", "EHLO a\r\nQUIT\r\n", []string{"ok:EHLO a", "ok:QUIT"}},
		{"bare lf", "EHLO a\nQUIT\r\n", []string{"bare LF:EHLO a", "ok:QUIT"}},
		{"bare cr inside", "EHLO a\rQUIT\r\n", []string{"bare CR:EHLO a\rQUIT"}},
		{"smuggling dot", "x\r\n\n.\n", []string{"ok:x", "bare LF:", "bare LF:."}},
		{"too long then in sync", long + "\r\nNOOP\r\n", []string{"too long:" + long[:512], "ok:NOOP"}},
		{"exactly at the limit", strings.Repeat("y", 510) + "\r\n", []string{"ok:" + strings.Repeat("y", 510)}},
		{"one over the limit", strings.Repeat("y", 511) + "\r\n", []string{"too long:" + strings.Repeat("y", 511)}},
		{"incomplete stays", "EHLO", nil},
		{"too long ending in bare lf", long + "\n.\r\n", []string{"bare LF:" + long[:512], "ok:."}},
		{"too long, cr at the cut, bare lf", strings.Repeat("y", 511) + "\ry\n", []string{"bare LF:" + strings.Repeat("y", 511) + "\r"}},
		{"too long, cr at the cut, crlf", strings.Repeat("y", 511) + "\ry\r\n", []string{"too long:" + strings.Repeat("y", 511) + "\r"}},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 3, 7, 1 << 20} {
			got := readAll(tt.input, 512, chunk)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("%s, chunks of %d: got %q, want %q", tt.name, chunk, got, tt.want)
			}
		}
	}
}

func TestLineReaderMemoryIsBounded(t *testing.T) {
	r := NewLineReader(512)
	chunk := bytes.Repeat([]byte("z"), 4096)
	for i := 0; i < 1000; i++ {
		r.Feed(chunk)
		if r.Buffered() > 512+len(chunk) {
			t.Fatalf("after %d chunks %d bytes are buffered", i+1, r.Buffered())
		}
	}
	r.Feed([]byte("\r\nQUIT\r\n"))
	if _, flaw, ok := r.Next(); !ok || flaw != LineTooLong {
		t.Fatalf("overlong line: flaw %v ok %v", flaw, ok)
	}
	if line, flaw, ok := r.Next(); !ok || flaw != LineOK || string(line) != "QUIT" {
		t.Fatalf("next line = %q %v %v", line, flaw, ok)
	}
}

func TestLineReaderDiscardAndTake(t *testing.T) {
	r := NewLineReader(512)
	r.Feed([]byte("STARTTLS\r\nMAIL FROM:<evil@example.org>\r\n"))
	if line, _, _ := r.Next(); string(line) != "STARTTLS" {
		t.Fatalf("first line %q", line)
	}
	if n := r.Discard(); n != len("MAIL FROM:<evil@example.org>\r\n") {
		t.Fatalf("Discard = %d", n)
	}
	if _, _, ok := r.Next(); ok {
		t.Fatal("a line survived Discard")
	}
	r.Feed([]byte("0123456789QUIT\r\n"))
	if got := string(r.Take(10)); got != "0123456789" {
		t.Fatalf("Take = %q", got)
	}
	if line, _, _ := r.Next(); string(line) != "QUIT" {
		t.Fatalf("after Take: %q", line)
	}
}

func TestDotStuffing(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Hi\r\n", "Hi\r\n.\r\n"},
		{"Hi", "Hi\r\n.\r\n"},
		{".hidden\r\n..two\r\n", "..hidden\r\n...two\r\n.\r\n"},
		{"a\n.\nb", "a\r\n..\r\nb\r\n.\r\n"},
		{"a\rb", "a\r\nb\r\n.\r\n"},
		{"", ".\r\n"},
	}
	for _, tt := range tests {
		if got := string(AppendDotStuffed(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("AppendDotStuffed(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Un-stuffing what was stuffed gives the original lines back.
	stuffed := AppendDotStuffed(nil, []byte(".a\r\nb\r\n..c\r\n"))
	r := NewLineReader(1000)
	r.Feed(stuffed)
	var got []string
	for {
		line, _, ok := r.Next()
		if !ok {
			t.Fatal("no end marker")
		}
		text, end := Unstuff(line)
		if end {
			break
		}
		got = append(got, string(text))
	}
	if strings.Join(got, "|") != ".a|b|..c" {
		t.Fatalf("round trip = %q", got)
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"<a@b.c>", "<>", `<"x y"@z>`, "<a@[IPv6:::1]> SIZE=1", "<@r:a@b>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, _, err := ParsePath(s, PathOptions{Limits: DefaultLimits(), Reverse: true, UTF8: true})
		if err != nil {
			return
		}
		// Whatever parses must parse again, to the same path, from its own output.
		again, rest, err := ParsePath(p.String(), PathOptions{Limits: DefaultLimits(), Reverse: true, UTF8: true})
		if err != nil || rest != "" || again != p {
			t.Fatalf("%q parsed to %q which re-parses to %q, %q, %v", s, p.String(), again.String(), rest, err)
		}
	})
}

func FuzzParseCommandAndParams(f *testing.F) {
	for _, s := range []string{"MAIL FROM:<a@b.c> SIZE=1", "RCPT TO:<x@y> NOTIFY=NEVER", "EHLO x", "ÿ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cmd, err := ParseCommand([]byte(s))
		if err != nil {
			return
		}
		if strings.ToUpper(string(cmd.Verb)) != string(cmd.Verb) {
			t.Fatalf("verb %q is not upper case", cmd.Verb)
		}
		_, _, _ = ParseMailArg(cmd.Arg, DefaultLimits())
		_, _, _ = ParseRcptArg(cmd.Arg, DefaultLimits(), true)
		if ps, err := ParseParams(cmd.Arg, false); err == nil {
			for _, p := range ps {
				if p.Key == "" || strings.ContainsAny(p.Value, " =") {
					t.Fatalf("bad param %+v from %q", p, cmd.Arg)
				}
			}
		}
	})
}

func FuzzReplyReader(f *testing.F) {
	f.Add([]byte("250-a\r\n250 2.0.0 b\r\n"))
	f.Add([]byte("5xx\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var rr ReplyReader
		lr := NewLineReader(512)
		lr.Feed(b)
		for {
			line, _, ok := lr.Next()
			if !ok {
				return
			}
			r, done, err := rr.Feed(line)
			if err == nil && done {
				if r.Code < 200 || r.Code > 599 || len(r.Lines) == 0 {
					t.Fatalf("reply %+v from %q", r, b)
				}
				// A reply written back out parses to the same reply.
				var rr2 ReplyReader
				out := r.AppendTo(nil, true)
				lr2 := NewLineReader(1 << 20)
				lr2.Feed(out)
				var back Reply
				for {
					l, _, ok := lr2.Next()
					if !ok {
						break
					}
					back, _, _ = rr2.Feed(l)
				}
				if back.Code != r.Code || back.Enhanced != r.Enhanced || strings.Join(back.Lines, "\n") != strings.Join(r.Lines, "\n") {
					t.Fatalf("round trip %+v -> %q -> %+v", r, out, back)
				}
			}
		}
	})
}

func FuzzLineReader(f *testing.F) {
	f.Add([]byte("a\r\nb\nc\rd\r\n"), uint8(3))
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		n := int(chunk%16) + 1
		r := NewLineReader(64)
		for i := 0; i < len(b); i += n {
			r.Feed(b[i:min(i+n, len(b))])
			if r.Buffered() > 64+1+n { // the limit, the last byte kept of a cut line, one chunk
				t.Fatalf("buffered %d > limit+1+chunk", r.Buffered())
			}
			for {
				line, flaw, ok := r.Next()
				if !ok {
					break
				}
				if flaw == LineOK && (bytes.IndexByte(line, '\n') >= 0 || bytes.IndexByte(line, '\r') >= 0 || len(line)+2 > 64) {
					t.Fatalf("ok line %q breaks the rules", line)
				}
			}
		}
	})
}

// The parsers run for every command of every session: a valid command must
// cost no allocation beyond the strings it returns. So do the replies.
func TestParseAllocations(t *testing.T) {
	lim := DefaultLimits()
	rcpt, quit := []byte("RCPT TO:<bob@example.org>"), []byte("quit")
	ok, okLine := Reply{Code: 250, Enhanced: "2.1.5", Lines: []string{"Ok"}}, []byte("250 2.1.5 Ok")
	params := make(Params, 0, 4)
	tests := []struct {
		name string
		max  float64
		f    func()
	}{
		{"known verb", 1, func() { _, _ = ParseCommand(rcpt) }},
		{"verb alone", 0, func() { _, _ = ParseCommand(quit) }},
		{"verb cut", 0, func() { _, _, _ = CutVerb(rcpt) }},
		{"MAIL with a parameter", 1, func() { _, _, _ = ParseMailArg("FROM:<alice@mail.example.com> SIZE=1000", lim) }},
		{"RCPT", 0, func() { _, _, _ = ParseRcptArg("TO:<bob.smith@example.org>", lim, false) }},
		{"MAIL into a list", 0, func() { _, _, _ = AppendMailArg(params[:0], "FROM:<a@example.com> SIZE=1 BODY=7BIT", lim) }},
		{"domain", 0, func() { _ = CheckDomain("client.example.com", PathOptions{Limits: lim}) }},
		{"reply as text", 1, func() { _ = ok.String() }},
		{"reply read", 2, func() { var rr ReplyReader; _, _, _ = rr.Feed(okLine) }}, // its text and its list of lines
	}
	for _, tt := range tests {
		if got := testing.AllocsPerRun(100, tt.f); got > tt.max {
			t.Errorf("%s: %v allocations, want at most %v", tt.name, got, tt.max)
		}
	}
}

func FuzzDotStuffing(f *testing.F) {
	for _, s := range []string{"a\r\n.b\n..c\rd", ".", "\r\r\n\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		stuffed := AppendDotStuffed(nil, msg)
		// Every line of the original (split on CRLF, LF or CR) comes back,
		// in order, and the end marker is the last line.
		normal := strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(string(msg))
		var lines []string
		if normal != "" {
			lines = strings.Split(strings.TrimSuffix(normal, "\n"), "\n")
		}
		r := NewLineReader(len(stuffed) + 3)
		r.Feed(stuffed)
		var got []string
		for {
			line, flaw, ok := r.Next()
			if !ok {
				t.Fatalf("no end marker in %q", stuffed)
			}
			if flaw != LineOK {
				t.Fatalf("stuffed output has a %v line: %q", flaw, stuffed)
			}
			text, end := Unstuff(line)
			if end {
				break
			}
			got = append(got, string(text))
		}
		if r.Buffered() != 0 {
			t.Fatalf("bytes after the end marker in %q", stuffed)
		}
		if strings.Join(got, "\x00") != strings.Join(lines, "\x00") {
			t.Fatalf("lines of %q came back as %q", msg, got)
		}
	})
}

func BenchmarkAppendDotStuffed(b *testing.B) {
	msg := bytes.Repeat([]byte("Some text of a normal length for a mail body line.\r\n"), 2000)
	buf := make([]byte, 0, 2*len(msg))
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		buf = AppendDotStuffed(buf[:0], msg)
	}
}

// TestReplyWireSafe: a reply goes out as printable ASCII in lines of at most
// 512 octets with CRLF, whatever its text held; a reply that already fits
// is not copied.
func TestReplyWireSafe(t *testing.T) {
	fits := Reply{Code: 250, Enhanced: "2.0.0", Lines: []string{"Ok", "tab\tis fine"}}
	if got := fits.WireSafe(512); &got.Lines[0] != &fits.Lines[0] {
		t.Error("a reply that fits was copied")
	}
	r := Reply{Code: 550, Enhanced: "5.1.1", Lines: []string{"first", "j\u00f6rg\r\nRSET", strings.Repeat("x", 600)}}
	safe := r.WireSafe(512)
	if r.Lines[1] != "j\u00f6rg\r\nRSET" {
		t.Error("WireSafe changed the reply it was given")
	}
	wire := string(safe.AppendTo(nil, true))
	lines := strings.Split(strings.TrimSuffix(wire, "\r\n"), "\r\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines on the wire, want 3: %q", len(lines), wire)
	}
	if lines[1] != "550-5.1.1 j??rg??RSET" {
		t.Errorf("line 2 = %q", lines[1])
	}
	if len(lines[2])+2 != 512 || !strings.HasSuffix(lines[2], "...") {
		t.Errorf("long line has %d octets with CRLF, want 512 ending in ...: %q", len(lines[2])+2, lines[2])
	}
	for _, c := range []byte(wire) {
		if (c < ' ' || c > '~') && c != '\r' && c != '\n' {
			t.Fatalf("byte 0x%02x on the wire: %q", c, wire)
		}
	}
}

// FuzzCheckDomain checks that CheckDomain, with its one pass for a plain
// domain, says what checkLabels, the check label by label, says of every
// domain, with and without SMTPUTF8.
func FuzzCheckDomain(f *testing.F) {
	for _, d := range []string{"example.org", "a", "a.b-c.d", "-a.b", "a-.b", "a..b", ".a", "a.", "",
		"xn--bcher-kva.example", strings.Repeat("a", 64) + ".org", strings.Repeat("a", 63), "bücher.example",
		"a_b.example", "-ä.example", "a.-"} {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, d string) {
		for _, utf8 := range []bool{false, true} {
			opt := PathOptions{UTF8: utf8}
			if got, want := CheckDomain(d, opt), checkLabels(d, opt); got != want {
				t.Fatalf("CheckDomain(%q, utf8 %v) = %q, checkLabels says %q", d, utf8, got, want)
			}
		}
	})
}

// FuzzReplyCode checks that ReplyCode reads what ParseReplyLine reads, and
// refuses what it refuses.
func FuzzReplyCode(f *testing.F) {
	for _, l := range []string{"250", "250 ok", "250-ok", "250-", "25", "", "199 x", "600 x", "2a0 x", "250x", "550 5.1.1 no"} {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		rl, err := ParseReplyLine(line)
		code, more, ok := ReplyCode(line)
		if ok != (err == nil) || ok && (code != rl.Code || more != rl.More) {
			t.Fatalf("%q: ReplyCode = %d, %v, %v; ParseReplyLine = %+v, %v", line, code, more, ok, rl, err)
		}
	})
}

// validEnhancedByCuts is ValidEnhanced as it was written first, by cutting
// s at its dots: FuzzValidEnhanced holds the one-pass version to it.
func validEnhancedByCuts(s string) bool {
	class, rest, ok := strings.Cut(s, ".")
	if !ok || (class != "2" && class != "4" && class != "5") {
		return false
	}
	subject, detail, ok := strings.Cut(rest, ".")
	digits := func(s string) bool {
		if len(s) == 0 || len(s) > 3 {
			return false
		}
		for i := 0; i < len(s); i++ {
			if !isDigit(s[i]) {
				return false
			}
		}
		return true
	}
	return ok && digits(subject) && digits(detail)
}

func FuzzValidEnhanced(f *testing.F) {
	for _, s := range []string{"2.0.0", "5.7.1", "4.4.2", "2.1.5", "3.0.0", "2.000.999", "2.0000.0", "2.0.0000", "2..0", "2.0.", "2.0", "2.0.0.0",
		"25.0.0", "", "2", "2.", "5.7.11", "x.1.1", "2.a.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidEnhanced(s), validEnhancedByCuts(s); got != want {
			t.Fatalf("ValidEnhanced(%q) = %v, want %v", s, got, want)
		}
	})
}

// FuzzTextLines holds TextLines to Next: fed the same bytes in the same
// chunks, a reader that takes text lines in blocks between its calls to
// Next must see the same lines as one that only calls Next, and a block
// must hold only plain lines, within its bounds.
func FuzzTextLines(f *testing.F) {
	for _, s := range []string{"a\r\nb\r\n.\r\nc\r\n", "a\r\nb\rc\r\nd\r\n", "ab\r\n\nc\r\n", "x\r\n..y\r\n" + strings.Repeat("z", 70) + "\r\nw\r\n"} {
		f.Add([]byte(s), uint8(3), uint8(8), uint8(200))
	}
	f.Fuzz(func(t *testing.T, b []byte, chunk, maxLine, room uint8) {
		n := int(chunk%16) + 1
		byNext, byBlocks := NewLineReader(64), NewLineReader(64)
		var want, got []string
		next := func(r *LineReader, out *[]string) {
			for {
				line, flaw, ok := r.Next()
				if !ok {
					return
				}
				*out = append(*out, flaw.String()+":"+string(line))
			}
		}
		for i := 0; i < len(b); i += n {
			p := b[i:min(i+n, len(b))]
			byNext.Feed(p)
			next(byNext, &want)
			byBlocks.Feed(p)
			for {
				text, lines := byBlocks.TextLines(int(maxLine), int(room))
				if len(text) > int(room) || bytes.Count(text, []byte("\r\n")) != lines {
					t.Fatalf("%d lines in %q, room %d", lines, text, room)
				}
				for _, line := range bytes.SplitAfter(text, []byte("\r\n")) {
					if len(line) == 0 {
						continue
					}
					if line[0] == '.' || len(line)-2 > int(maxLine) {
						t.Fatalf("took %q (longest %d)", line, maxLine)
					}
					got = append(got, "ok:"+string(line[:len(line)-2]))
				}
				line, flaw, ok := byBlocks.Next()
				if !ok {
					break
				}
				got = append(got, flaw.String()+":"+string(line))
			}
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("in blocks:\n%q\nby Next:\n%q", got, want)
		}
	})
}

// scanLineEndsByOctet is ScanLineEnds an octet at a time.
func scanLineEndsByOctet(ends LineEnds, p []byte) LineEnds {
	for _, c := range p {
		switch {
		case ends.CR && c != '\n':
			ends.BareCR = true
		case !ends.CR && c == '\n':
			ends.BareLF = true
		}
		ends.CR = c == '\r'
		ends.NUL = ends.NUL || c == 0
	}
	return ends
}

// FuzzScanLineEnds feeds a text cut at two places to both ways of
// ScanLineEnds, searching and a word at a time, and to a reading an octet
// at a time, and wants the same verdicts after each piece.
func FuzzScanLineEnds(f *testing.F) {
	for _, s := range []string{"a\r\nb\r\n", "a\rb\r\n", "a\nb", "a\r", "\r\r\n", "x\x00y\r\n", "\r", "\n",
		"abcdefg\r\nabcdefgh\r\n", "abcdefgh\rabcdefgh\n", "0123456\r\n0123456\r", "\x0d\x0a\x0d\x0a\x0d\x0a\x0d\x0a\x0d", "\x0c\x0e\x0b\x09\x01\x80\xff\x8d\x8a"} {
		f.Add([]byte(s), uint8(1), uint8(9))
	}
	f.Fuzz(func(t *testing.T, text []byte, cut1, cut2 uint8) {
		i, j := int(cut1)%(len(text)+1), int(cut2)%(len(text)+1)
		if i > j {
			i, j = j, i
		}
		var searching, words, want LineEnds
		for _, piece := range [][]byte{text[:i], text[i:j], text[j:]} {
			want = scanLineEndsByOctet(want, piece)
			if len(piece) > 0 {
				searching, words = scanSearching(searching, piece), scanWords(words, piece)
			}
			if searching != want || words != want {
				t.Fatalf("%q cut at %d and %d, after %q: searching %+v, words %+v, want %+v", text, i, j, piece, searching, words, want)
			}
		}
	})
}

// FuzzIndexByte holds indexByteWords, IndexByte under WebAssembly, to
// bytes.IndexByte.
func FuzzIndexByte(f *testing.F) {
	for _, s := range []string{"", "\n", "abc\r\n", "0123456\n", "01234567\n", "0123456789abcdef\r", "\x00\x01\xff\n\n"} {
		f.Add([]byte(s), byte('\n'))
	}
	f.Fuzz(func(t *testing.T, p []byte, c byte) {
		if got, want := indexByteWords(p, c), bytes.IndexByte(p, c); got != want {
			t.Fatalf("indexByteWords(%q, %q) = %d, want %d", p, c, got, want)
		}
	})
}

// FuzzLineEnd holds lineEndWords, what Next uses under WebAssembly, to the
// searches of package bytes.
func FuzzLineEnd(f *testing.F) {
	for _, s := range []string{"", "\n", "\r", "\r\n", "abc\r\n", "a\rb\r\n", "0123456\r\n", "01234567\n", "0123456789abcde\r", "0123456789abcdef\r\n", "01234\r6789abcdef\r\n", "\x00\x0d\x0a\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		wantNL := bytes.IndexByte(p, '\n')
		wantCR := wantNL > 0 && bytes.IndexByte(p[:wantNL-1], '\r') >= 0
		if nl, cr := lineEndWords(p); nl != wantNL || nl >= 0 && cr != wantCR {
			t.Fatalf("lineEndWords(%q) = %d, %v, want %d, %v", p, nl, cr, wantNL, wantCR)
		}
	})
}

// cutVerbSlowly is CutVerb without its shortcut for verbs of four letters.
func cutVerbSlowly(line []byte) (Verb, []byte, error) {
	verb, arg, _ := bytes.Cut(line, []byte{' '})
	if len(verb) == 0 {
		return "", nil, ErrEmptyCommand
	}
	if len(verb) > 16 {
		return "", nil, fmt.Errorf("command verb of %d characters is not SMTP", len(verb))
	}
	up := make([]byte, len(verb))
	for i, c := range verb {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c < 'A' || c > 'Z' {
			return "", nil, fmt.Errorf("command verb %q has a character that is not a letter", verb)
		}
		up[i] = c
	}
	return Verb(up), arg, nil
}

// FuzzCutVerb holds CutVerb, which reads a verb of four letters as a word,
// to cutting the line at its first space and upper-casing the verb.
func FuzzCutVerb(f *testing.F) {
	for _, s := range []string{"MAIL FROM:<a@b>", "mail", "QUIT", "quit ", "Rcpt TO:<x>", "STARTTLS", "MAI{ x", "M@IL x",
		"HELO", "help me", "AUTH PLAIN", "XXXX", "DATA\x00", "noop", "EhLo x.y", "BDAT 5 LAST", "ma1l x", "", " MAIL"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		verb, arg, err := CutVerb(line)
		wantVerb, wantArg, wantErr := cutVerbSlowly(line)
		if verb != wantVerb || !bytes.Equal(arg, wantArg) || (arg == nil) != (wantArg == nil) || fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("CutVerb(%q) = %q, %q, %v; want %q, %q, %v", line, verb, arg, err, wantVerb, wantArg, wantErr)
		}
	})
}
