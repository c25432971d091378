package server

import (
	"bytes"
	"strconv"
	"testing"
)

// writeByLines is textCheck.write as it was first written, looking for a
// bare CR in every line: FuzzTextCheck holds write to it.
func (c *textCheck) writeByLines(p []byte) {
	if bytes.IndexByte(p, 0) >= 0 {
		c.nul = true
	}
	for len(p) > 0 {
		if c.cr {
			c.cr = false
			if p[0] == '\n' {
				c.lineLen, p = 0, p[1:]
				continue
			}
			c.bareCR = true
			c.addLine(1)
		}
		nl := bytes.IndexByte(p, '\n')
		seg := p
		if nl >= 0 {
			seg = p[:nl]
		}
		n := len(seg)
		if n > 0 && seg[n-1] == '\r' {
			n-- // the CR of a CRLF, or one whose LF is still to come
			c.cr = nl < 0
		}
		if bytes.IndexByte(seg[:n], '\r') >= 0 {
			c.bareCR = true
		}
		c.addLine(n)
		if nl < 0 {
			return
		}
		if n == len(seg) {
			c.bareLF = true
		}
		c.lineLen, p = 0, p[nl+1:]
	}
}

// FuzzTextCheck feeds the same text, cut at two places, to write and to
// writeByLines, and wants the same verdicts.
func FuzzTextCheck(f *testing.F) {
	for _, s := range []string{"a\r\nb\r\n", "a\rb\r\n", "a\nb", "a\r", "\r\r\n", "x\x00y\r\n", "\r", "\n", "abc\r\n\r"} {
		f.Add([]byte(s), uint8(1), uint8(2), uint8(5))
	}
	f.Fuzz(func(t *testing.T, text []byte, max, cut1, cut2 uint8) {
		i, j := int(cut1)%(len(text)+1), int(cut2)%(len(text)+1)
		if i > j {
			i, j = j, i
		}
		got, want := textCheck{max: int(max)}, textCheck{max: int(max)}
		for _, piece := range [][]byte{text[:i], text[i:j], text[j:]} {
			got.write(piece)
			want.writeByLines(piece)
		}
		got.end()
		want.end()
		if got != want {
			t.Fatalf("%q cut at %d and %d: got %+v, want %+v", text, i, j, got, want)
		}
	})
}

// TestDecimal: decimal reads the counts of BDAT and SIZE as strconv does
// the digits it is given, and takes nothing else.
func TestDecimal(t *testing.T) {
	for _, s := range []string{"", "0", "7", "0042", "1024", "-1", "+1", "1 ", " 1", "12a", "a",
		"999999999999999999", "9223372036854775807", "9223372036854775808", "99999999999999999999", "1_000"} {
		n, ok := decimal(s)
		want, err := strconv.ParseInt(s, 10, 64)
		if wantOK := err == nil && allDigits(s); ok != wantOK || ok && n != want {
			t.Errorf("decimal(%q) = %d, %v, want %d, %v", s, n, ok, want, wantOK)
		}
	}
}
