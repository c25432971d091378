package mimepart

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/textproto"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestParts reads the parts of a multipart message a mail program might
// have written by hand: a part without header fields, a delimiter with
// trailing space, an epilogue; and finds none in what is not multipart.
func TestParts(t *testing.T) {
	raw := "Subject: x\r\nContent-Type: Multipart/Mixed; boundary=b1\r\n\r\npreamble\r\n" +
		"--b1\r\n\r\nno header fields\r\n" +
		"--b1 \r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBO\r\n" +
		"--b1--\r\nepilogue\r\n"
	parts := Parts([]byte(raw), 10)
	if len(parts) != 2 || string(parts[0].Body) != "no header fields" || len(parts[0].Header) != 0 ||
		parts[1].Header.Get("Content-Type") != "image/png" || string(parts[1].Body) != "iVBO" {
		t.Fatalf("parts %+v", parts)
	}
	if got := Parts([]byte(raw), 1); len(got) != 1 {
		t.Errorf("a limit of 1 gave %d parts", len(got))
	}
	for _, raw := range []string{"Subject: plain\r\n\r\nHello", "Content-Type: multipart/mixed\r\n\r\n--\r\n",
		"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x", "Content-Type: multipart/mixed; boundary=x"} {
		if got := Parts([]byte(raw), 10); got != nil {
			t.Errorf("%q: %+v", raw, got)
		}
	}
}

// TestDecode: base64 and quoted-printable decode as the standard library
// decodes them, line breaks and stray characters in base64 are skipped,
// and other encodings are left as they are.
func TestDecode(t *testing.T) {
	data := []byte("X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR and some more bytes: \x00\xff\xfe é")
	b64 := base64.StdEncoding.EncodeToString(data)
	var wrapped strings.Builder
	for i := 0; i < len(b64); i += 10 {
		wrapped.WriteString(b64[i:min(i+10, len(b64))] + "\r\n")
	}
	if got := Decode([]byte(wrapped.String()), " BASE64 "); !bytes.Equal(got, data) {
		t.Errorf("base64: %q, want %q", got, data)
	}
	if got := Decode([]byte(b64[:len(b64)-2]+"!!"), "base64"); !bytes.HasPrefix(data, got) || len(got) < len(data)-2 {
		t.Errorf("base64 with stray characters and no padding: %q", got)
	}
	var qp bytes.Buffer
	w := quotedprintable.NewWriter(&qp)
	w.Write(bytes.Repeat(data, 3))
	w.Close()
	want, _ := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(qp.Bytes())))
	if got := Decode(qp.Bytes(), "Quoted-Printable"); !bytes.Equal(got, want) {
		t.Errorf("quoted-printable: %q, want %q", got, want)
	}
	if got := Decode([]byte("a=zz=4"), "quoted-printable"); string(got) != "a=zz=4" {
		t.Errorf("a broken = sequence: %q", got)
	}
	if got := Decode([]byte("plain =41"), "8bit"); string(got) != "plain =41" {
		t.Errorf("8bit: %q", got)
	}
	for _, cte := range []string{"base64", "quoted-printable", ""} {
		if DecodedSize([]byte(wrapped.String()), cte) != len(Decode([]byte(wrapped.String()), cte)) {
			t.Errorf("%s: DecodedSize disagrees with Decode", cte)
		}
	}
}

// FuzzParams: whatever package mime reads without an error, Params
// reads the same; and it never fails on anything else.
func FuzzParams(f *testing.F) {
	for _, s := range []string{
		`attachment; filename="a \"b\".txt"`, `multipart/mixed; boundary="=_x y"`, `text/plain; name=a.txt; charset=us-ascii`,
		`attachment; filename*=utf-8''%C3%A9t%C3%A9.txt`, `attachment; filename*0*=utf-8'en'%C3%A9; filename*1=".txt"`,
		`attachment; filename*=UTF-8''a%2`, `inline;filename=x;`, `attachment; filename="unclosed`, `a; b==c`,
		`0;*0*=0`, `a; name*=iso-8859-1''%E9; name=e`, `a; b="C:\dir\x.txt"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		value, params := Params(v)
		mt, want, err := mime.ParseMediaType(v)
		if err != nil {
			return
		}
		if value != mt {
			t.Errorf("%q: value %q, package mime reads %q", v, value, mt)
		}
		for k, w := range want {
			if params[k] != w {
				t.Errorf("%q: %s=%q, package mime reads %q", v, k, params[k], w)
			}
		}
	})
}

// TestDecodeWords: encoded-words (RFC 2047) in B and Q, in UTF-8,
// ISO-8859-1 and US-ASCII, read as package mime reads them: the white
// space between two of them is dropped, the white space between one and
// plain text kept, and what is not an encoded-word (or names a character
// set it does not know) stays as it is.
func TestDecodeWords(t *testing.T) {
	for in, want := range map[string]string{
		"plain text":               "plain text",
		"=?utf-8?b?R3LDvMOfZQ==?=": "Grüße",
		"=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus?= =?utf-8?q?_K=C3=B6ln?=": "Grüße aus Köln",
		"=?utf-8?b?5pel5pys?=\t =?utf-8?b?6Kqe?=":                "日本語",
		"Re: =?iso-8859-1?q?caf=E9?= ok":                         "Re: café ok",
		"=?us-ascii?q?a=FFb?=":                                   "a\uFFFDb",
		"=?utf-8?b?not base64?=":                                 "=?utf-8?b?not base64?=",
		"=?utf-8?q?a=ZZ?=":                                       "=?utf-8?q?a=ZZ?=",
		"=?koi8-r?b?8NLJ18XU?=":                                  "=?koi8-r?b?8NLJ18XU?=",
		"=?utf-8?x?abc?=":                                        "=?utf-8?x?abc?=",
		"unclosed =?utf-8?q?abc":                                 "unclosed =?utf-8?q?abc",
	} {
		if got := DecodeWords(in); got != want {
			t.Errorf("DecodeWords(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzDecodeWords: whatever package mime decodes without an error,
// DecodeWords decodes the same; anything else it reads without failing.
func FuzzDecodeWords(f *testing.F) {
	for _, s := range []string{
		"=?utf-8?b?R3LDvMOfZQ==?=", "=?UTF-8?Q?a_b=3F?= =?utf-8?q?c?=", "x =?iso-8859-1?q?=E9?=y", "=?us-ascii?b?/w==?=",
		"=?utf-8?b?YQ?=", "=?utf-8?q?=4?=", "=??q?a?=", "=?utf-8?q??=", "a=?utf-8?q?b?=c", "=?utf-8?q?a?==?utf-8?q?b?=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := DecodeWords(v)
		want, err := new(mime.WordDecoder).DecodeHeader(v)
		if err == nil && got != want {
			t.Errorf("DecodeWords(%q) = %q, package mime reads %q", v, got, want)
		}
	})
}

// splitHeaders is Headers written the plain way, for FuzzHeaders to hold
// the line walker that Headers, Field and HeaderEnd share to it: split a
// copy of the message at CRLF, then read fields until the blank line or
// the first line that is neither a field nor a continuation.
func splitHeaders(msg []byte) (textproto.MIMEHeader, int) {
	h := textproto.MIMEHeader{}
	var key string
	offset := 0 // where line starts in msg
	lines := strings.Split(string(msg), "\r\n")
	for i, line := range lines {
		last := i == len(lines)-1 // no CRLF after it
		switch {
		case line == "" && !last:
			return h, offset + 2
		case (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && i > 0:
			vals := h[key]
			vals[len(vals)-1] += " " + strings.TrimSpace(line)
		case fieldStart.MatchString(line):
			name, value, _ := strings.Cut(line, ":")
			key = textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name))
			h[key] = append(h[key], strings.TrimSpace(value))
		case line == "" && last:
			return h, len(msg) // the message ended with its last field's CRLF
		default:
			return h, offset
		}
		offset += len(line) + 2
	}
	return h, len(msg)
}

// fieldStart matches a line that starts a header field (RFC 5322 §2.2,
// §4.5): a name of printable ASCII but the colon, white space, the colon.
var fieldStart = regexp.MustCompile(`^[!-9;-~]+[ \t]*:`)

// FuzzHeaders: Headers reads every header block as splitHeaders does,
// and Field finds what Get finds in it.
func FuzzHeaders(f *testing.F) {
	for _, s := range []string{
		"Content-Type: text/plain\r\n\r\nbody",
		"content-TYPE :  multipart/mixed;\r\n\tboundary=\"a b\"\r\n  \r\nX: y\r\n\r\n",
		" Content-Type: first\r\nContent-Type: second\r\n",
		": no name\r\n continued\r\nno colon\r\n\tContent-Type: inside\r\nContent-Type:\u00a0x\u00a0\r\n",
		"Content-Type: a\r\nbroken line\r\n more\r\nContent-Transfer-Encoding: BASE64 \r\n\r\n",
		"Content-Tranſfer-Encoding: x\r\nContent-Type\r\n\r\n",
		"\r\n\r\nContent-Type: in the body",
		"\r\nContent-Type: after a first empty line\r\n\r\nContent-Type: in the body\r\n",
		"Content-Type: a\r\n",
		"Subject: typed without the blank line\r\nHello Bob\r\nContent-Type: in the body\r\n",
		"Subject: x\r\ncaf\xc3\xa9\r\n",
		"caf\xc3\xa9\r\n",
		"Subject :  space before the colon\r\n\tfolded\r\n\r\nbody",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		want, wantBody := splitHeaders(msg)
		got, body := Headers(msg)
		if body != wantBody || !reflect.DeepEqual(got, want) {
			t.Fatalf("Headers(%q) = %q, %d; want %q, %d", msg, got, body, want, wantBody)
		}
		for _, name := range []string{"Content-Type", "Content-Transfer-Encoding", "X-Spam-Flag"} {
			if got, want := Field(msg, name), want.Get(name); got != want {
				t.Errorf("Field(%q, %s) = %q, want %q", msg, name, got, want)
			}
		}
	})
}

// TestEncoded: the encodings Decode decodes, and only those.
func TestEncoded(t *testing.T) {
	for cte, want := range map[string]bool{"base64": true, " Quoted-Printable ": true, "BASE64": true,
		"7bit": false, "8bit": false, "binary": false, "": false, "baſe64": false, "x-uuencode": false} {
		if got := Encoded(cte); got != want {
			t.Errorf("Encoded(%q) = %v, want %v", cte, got, want)
		}
		if decoded := Decode([]byte("=41"), cte); (string(decoded) != "=41") != want {
			t.Errorf("Decode under %q disagrees with Encoded", cte)
		}
	}
}

// TestWithout drops every field of a name, folded lines and all, in any
// case, and nothing of the body, where a line that looks like the field
// is text.
func TestWithout(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Return-Path: <a@x>\r\nSubject: s\r\n\r\nReturn-Path: <body@x>\r\n", "Subject: s\r\n\r\nReturn-Path: <body@x>\r\n"},
		{"Subject: s\r\nreturn-path : <a@x>\r\n\t(folded)\r\nTo: b\r\nRETURN-PATH: <c@x>\r\n\r\nhi\r\n", "Subject: s\r\nTo: b\r\n\r\nhi\r\n"},
		{"Return-Path: <a@x>\r\nReturn-Path: <b@x>\r\n", ""},
		{"Return-Path: <a@x>", ""},
		{"Subject: s\r\nReturn-Path-X: kept\r\n\r\n", "Subject: s\r\nReturn-Path-X: kept\r\n\r\n"},
		{"Subject: s\r\nno field here\r\nReturn-Path: <text@x>\r\n", "Subject: s\r\nno field here\r\nReturn-Path: <text@x>\r\n"},
	} {
		got, dropped := Without([]byte(c.in), "Return-Path")
		if string(got) != c.want || dropped != (c.want != c.in) {
			t.Errorf("Without(%q) = %q, %v; want %q", c.in, got, dropped, c.want)
		}
	}
}
