package mimepart

import (
	"bytes"
	"strings"
	"testing"
)

// TestAppendSevenBit converts messages a mail program or the lab writes:
// each 8-bit leaf quoted-printable with its field saying so, in the place
// of the old one; 7-bit parts, delimiters, preamble and epilogue byte for
// byte; message/rfc822 walked into (RFC 2046 §5.2.1) and message/global
// encoded whole (RFC 6532 §3.5); and it refuses what only SMTPUTF8 or
// nothing can carry.
func TestAppendSevenBit(t *testing.T) {
	for _, tt := range []struct {
		name, in, want, err string
	}{{
		name: "7-bit: as it is",
		in:   "Subject: hi\r\n\r\nHello\r\n",
		want: "Subject: hi\r\n\r\nHello\r\n",
	}, {
		name: "not MIME: gets MIME-Version, as the new field means nothing without it (RFC 2045 §4)",
		in:   "Subject: x\r\n\r\ncaf\xc3\xa9\r\n",
		want: "Subject: x\r\nContent-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n\r\ncaf=C3=A9\r\n",
	}, {
		name: "typed without the blank line: the text starts at its first line that is no field, and gets the blank line",
		in:   "Subject: x\r\ncaf\xc3\xa9\r\n",
		want: "Subject: x\r\nContent-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n\r\ncaf=C3=A9\r\n",
	}, {
		name: "a line of the text that starts with a hyphen, which could start a delimiter",
		in:   "Subject: x\r\n\r\n--caf\xc3\xa9\r\n",
		want: "Subject: x\r\nContent-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n\r\n=2D-caf=C3=A9\r\n",
	}, {
		name: "the field in its place, folded lines too; =, trailing white space, a long line",
		in: "MIME-Version: 1.0\r\nContent-Transfer-Encoding:\r\n 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
			"a=b \r\n\xc3\xa9\t\r\n" + strings.Repeat("x", 80) + "\r\n",
		want: "MIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
			"a=3Db=20\r\n=C3=A9=09\r\n" + strings.Repeat("x", 75) + "=\r\n" + strings.Repeat("x", 5) + "\r\n",
	}, {
		name: "multipart: the 8-bit part without fields gets one, the rest byte for byte, the top's 8bit becomes 7bit",
		in: "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\npreamble\r\n" +
			"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\n\r\nplain\r\n" +
			"--b \t\r\n\r\nd\xc3\xa9j\xc3\xa0\r\n" +
			"--b--\r\nepilogue\r\n",
		want: "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\nContent-Transfer-Encoding: 7bit\r\n\r\npreamble\r\n" +
			"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\n\r\nplain\r\n" +
			"--b \t\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nd=C3=A9j=C3=A0\r\n" +
			"--b--\r\nepilogue\r\n",
	}, {
		name: "message/rfc822 walked into, binary becomes 7bit; the message inside, now MIME, says so (RFC 2045 §4)",
		in: "MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
			"Subject: inner\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\xc3\xb6\r\n",
		want: "MIME-Version: 1.0\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" +
			"Subject: inner\r\nContent-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n\r\n=C3=B6\r\n",
	}, {
		name: "multipart/digest: a part without Content-Type is message/rfc822 (RFC 2046 §5.1.5)",
		in: "MIME-Version: 1.0\r\nContent-Type: multipart/digest; boundary=d\r\n\r\n" +
			"--d\r\n\r\nSubject: one\r\n\r\n\xc3\xb6\r\n--d--\r\n",
		want: "MIME-Version: 1.0\r\nContent-Type: multipart/digest; boundary=d\r\n\r\n" +
			"--d\r\n\r\nSubject: one\r\nContent-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n\r\n=C3=B6\r\n--d--\r\n",
	}, {
		name: "message/global and message/global-headers, UTF-8 headers inside, encoded whole",
		in: "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=global-delivery-status; boundary=r\r\n\r\n" +
			"--r\r\nContent-Type: message/global-headers\r\nContent-Transfer-Encoding: 8bit\r\n\r\nSubject: caf\xc3\xa9\r\n" +
			"--r\r\nContent-Type: message/global\r\n\r\nTo: b\xc3\xb6b@example.org\r\n\r\nhi\r\n" +
			"--r--\r\n",
		want: "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=global-delivery-status; boundary=r\r\n\r\n" +
			"--r\r\nContent-Type: message/global-headers\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nSubject: caf=C3=A9\r\n" +
			"--r\r\nContent-Type: message/global\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nTo: b=C3=B6b@example.org\r\n\r\nhi\r\n" +
			"--r--\r\n",
	}, {
		name: "an ASCII part with a line over 998 octets is not 7bit data either (RFC 2045 §2.7)",
		in: "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
			"--b\r\n\r\n" + strings.Repeat("y", 999) + "\r\n--b\r\n\r\n\xc3\xb6\r\n--b--\r\n",
		want: "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" +
			"--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + strings.Repeat(strings.Repeat("y", 75)+"=\r\n", 13) + strings.Repeat("y", 999-13*75) +
			"\r\n--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=C3=B6\r\n--b--\r\n",
	}, {
		name: "a UTF-8 header needs SMTPUTF8",
		in:   "Subject: caf\xc3\xa9\r\n\r\nhi\r\n",
		err:  "the message has octets beyond ASCII in its header",
	}, {
		name: "a part's UTF-8 header needs SMTPUTF8",
		in:   "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nhi\r\n--b\r\nContent-Disposition: attachment; filename=\xc3\xa9.txt\r\n\r\nx\r\n--b--\r\n",
		err:  "MIME part 2 has octets beyond ASCII in its header",
	}, {
		name: "a header in message/rfc822 needs SMTPUTF8: it may not be encoded",
		in:   "Content-Type: message/rfc822\r\n\r\nSubject: caf\xc3\xa9\r\n\r\nhi\r\n",
		err:  "MIME part 1 has octets beyond ASCII in its header",
	}, {
		name: "base64 with 8-bit octets in it cannot be encoded again",
		in:   "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n\xc3\xa9\r\n",
		err:  `Content-Transfer-Encoding "base64"`,
	}, {
		name: "an 8-bit preamble",
		in:   "Content-Type: multipart/mixed; boundary=b\r\n\r\n\xc3\xa9\r\n--b\r\n\r\nhi\r\n--b--\r\n",
		err:  "has a preamble that is not 7-bit",
	}, {
		name: "message/partial must be 7bit",
		in:   "Content-Type: message/partial; id=x; number=1\r\n\r\n\xc3\xa9\r\n",
		err:  "message/partial",
	}, {
		name: "multipart without a boundary",
		in:   "Content-Type: multipart/mixed\r\n\r\n\xc3\xa9\r\n",
		err:  "without a boundary",
	}, {
		name: "too deep",
		in:   nested(MaxSevenBitDepth+1, "\xc3\xa9"),
		err:  "nested more than 8 deep",
	}, {
		name: "too many parts",
		in:   "Content-Type: multipart/mixed; boundary=b\r\n\r\n" + strings.Repeat("--b\r\n\r\nx\r\n", MaxSevenBitParts) + "--b\r\n\r\n\xc3\xa9\r\n--b--\r\n",
		err:  "more than 1000 MIME parts",
	}} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendSevenBit([]byte("kept:"), []byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one saying %q", err, tt.err)
				}
				if string(got) != "kept:" {
					t.Errorf("on error it returned %q, want dst as it was", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimPrefix(string(got), "kept:"); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
			checkSevenBit(t, []byte(tt.in), got[len("kept:"):])
		})
	}
	if _, err := AppendSevenBit(nil, []byte(nested(MaxSevenBitDepth, "\xc3\xa9"))); err != nil {
		t.Errorf("%d levels: %v", MaxSevenBitDepth, err)
	}
}

// nested is a message of depth multiparts, one inside the other, around
// content.
func nested(depth int, content string) string {
	msg := "\r\n" + content + "\r\n"
	for i := range depth {
		b := strings.Repeat("b", i+1)
		msg = "Content-Type: multipart/mixed; boundary=" + b + "\r\n\r\n--" + b + "\r\n" + msg + "--" + b + "--\r\n"
	}
	return msg
}

// FuzzAppendSevenBit: whatever the message, what AppendSevenBit makes of
// it is ASCII with lines of at most 998 octets, decodes part by part to
// what the message had, and stays as it is when converted again; and the
// same message gives the same octets.
func FuzzAppendSevenBit(f *testing.F) {
	for _, seed := range []string{
		"Subject: x\r\n\r\ncaf\xc3\xa9\r\n",
		"Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: 8bit\r\n\r\npre\r\n--b\r\n\r\n\xc3\xb6 \r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: y\r\n\r\n\xff=\x00\r\n--b--\r\nepi",
		"Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: one\r\n\r\n\xc3\xb6\r\n--d--\r\n",
		"Content-Type: message/global\r\n\r\nSubject: \xc3\xa9\r\n\r\n" + strings.Repeat("\xc3\xa9", 600) + "\r\n",
		"Content-Type: text/plain\r\n\r\n" + strings.Repeat("a ", 600) + "\r\n\r\r\n\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		out, err := AppendSevenBit(nil, msg)
		if err != nil {
			return
		}
		checkSevenBit(t, msg, out)
		again, err := AppendSevenBit(nil, msg)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not deterministic: %q then %q (%v)", out, again, err)
		}
		if twice, err := AppendSevenBit(nil, out); err != nil || !bytes.Equal(twice, out) {
			t.Fatalf("converting the 7-bit form changed it: %q to %q (%v)", out, twice, err)
		}
	})
}

// checkSevenBit fails t unless out, the 7-bit form of in, is ASCII with
// lines of at most 998 octets and has the leaves of in, decoded.
func checkSevenBit(t *testing.T, in, out []byte) {
	t.Helper()
	for i, line := range bytes.Split(out, []byte("\n")) {
		if len(bytes.TrimSuffix(line, []byte("\r"))) > maxLine {
			t.Fatalf("line %d has %d octets:\n%q", i+1, len(line), out)
		}
	}
	if i := bytes.IndexFunc(out, func(r rune) bool { return r >= 0x80 }); i >= 0 {
		t.Fatalf("octet %#x beyond ASCII at %d:\n%q", out[i], i, out)
	}
	want, got := leaves(in, MaxSevenBitDepth+2), leaves(out, MaxSevenBitDepth+2)
	if len(want) != len(got) {
		t.Fatalf("%d leaves, want %d:\n%q\n%q", len(got), len(want), in, out)
	}
	for i := range want {
		if !bytes.Equal(want[i], got[i]) {
			t.Fatalf("leaf %d decodes to %q, want %q:\n%q", i+1, got[i], want[i], out)
		}
	}
}

// leaves returns the content of every leaf of msg, decoded, as a reader
// finds them with Parts and Headers: inside multiparts and message/rfc822
// parts that are not encoded, down to depth levels.
func leaves(msg []byte, depth int) [][]byte {
	var out [][]byte
	var walk func(p Part, defaultType string, depth int)
	walk = func(p Part, defaultType string, depth int) {
		mediaType, _ := Params(p.Header.Get("Content-Type"))
		if mediaType == "" {
			mediaType = defaultType
		}
		cte := p.Header.Get("Content-Transfer-Encoding")
		identity := false
		switch strings.ToLower(strings.TrimSpace(cte)) {
		case "", "7bit", "8bit", "binary":
			identity = true
		}
		switch {
		case depth == 0:
			out = append(out, p.Body)
		case strings.HasPrefix(mediaType, "multipart/"):
			inner := "text/plain"
			if mediaType == "multipart/digest" {
				inner = "message/rfc822"
			}
			for _, part := range p.Parts(MaxSevenBitParts + 1) {
				walk(part, inner, depth-1)
			}
		case mediaType == "message/rfc822" && identity:
			walk(entityPart(p.Body), "text/plain", depth-1)
		default:
			out = append(out, Decode(p.Body, cte))
		}
	}
	walk(entityPart(msg), "text/plain", depth)
	return out
}

// entityPart reads a message as Parts reads a part: one that starts with
// the blank line has no header fields (RFC 5322 §2.1).
func entityPart(msg []byte) Part {
	if bytes.HasPrefix(msg, []byte("\r\n")) {
		return Part{Header: map[string][]string{}, Body: msg[2:]}
	}
	hdr, start := Headers(msg)
	return Part{Header: hdr, Body: msg[min(start, len(msg)):]}
}
