package smtp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The address of the "utf-8" address type, in an ORCPT parameter or a
// DSN's Original-Recipient and Final-Recipient fields, is not RFC 3461's
// xtext but RFC 6533 §3's own encoding:
//
//	utf-8-addr-xtext    = 1*(QCHAR / EmbeddedUnicodeChar)   ; 7-bit
//	utf-8-addr-unitext  = 1*(QUCHAR / EmbeddedUnicodeChar)  ; with SMTPUTF8
//	QCHAR               = %x21-2a / %x2c-3c / %x3e-5b / %x5d-7e
//	                      ; printable ASCII except '+', '=' and '\'
//	QUCHAR              = QCHAR / UTF8-2 / UTF8-3 / UTF8-4
//	EmbeddedUnicodeChar = %x5C.78 "{" HEXPOINT "}"           ; \x{F6}
//
// HEXPOINT is the scalar value in hex without leading zeros beyond two
// digits ("F6", "0A", "1F600", never "00F6"), and names either a character
// QCHAR leaves out (a control, space, '+', '=', '\', DEL) or one outside
// ASCII, surrogates excepted. A "+" has no special meaning: "+C3+B6" is not
// an ö, and a '+' in the address is written \x{2B}.

// DecodeUTF8Addr decodes the address of an address of type utf-8 (RFC 6533
// §3). With unitext, UTF-8 may stand for itself (utf-8-addr-unitext, only
// where SMTPUTF8 is in use); without, the address is 7-bit
// (utf-8-addr-xtext) and every non-ASCII character is an \x{HEX}. The
// result is valid UTF-8; it may hold controls, which the caller refuses if
// it must.
func DecodeUTF8Addr(s string, unitext bool) (string, error) {
	if s == "" {
		return "", errors.New("utf-8 address: empty")
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			r, n, err := embeddedChar(s[i:])
			if err != nil {
				return "", err
			}
			b.WriteRune(r)
			i += n
		case c < utf8.RuneSelf:
			if !isQChar(c) {
				return "", fmt.Errorf("utf-8 address %q: byte 0x%02x must be written as \\x{%02X}", s, c, c)
			}
			b.WriteByte(c)
			i++
		default:
			if !unitext {
				return "", fmt.Errorf("utf-8 address %q: without SMTPUTF8, a non-ASCII character must be written as \\x{HEX}", s)
			}
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return "", fmt.Errorf("utf-8 address %q: byte 0x%02x is not UTF-8", s, c)
			}
			b.WriteString(s[i : i+n])
			i += n
		}
	}
	return b.String(), nil
}

// embeddedChar reads the EmbeddedUnicodeChar at the start of s, "\x{F6}",
// and returns its character and length.
func embeddedChar(s string) (rune, int, error) {
	bad := func(why string) (rune, int, error) {
		end := min(len(s), 12)
		if i := strings.IndexByte(s[:end], '}'); i >= 0 {
			end = i + 1
		}
		return 0, 0, fmt.Errorf("utf-8 address: %q: %s", s[:end], why)
	}
	if !strings.HasPrefix(s, `\x{`) {
		return bad(`a '\' starts \x{HEX}; a '\' itself is \x{5C}`)
	}
	end := strings.IndexByte(s[3:min(len(s), 3+7)], '}')
	if end < 0 {
		return bad(`\x{ needs 2 to 6 hex digits and a '}'`)
	}
	hex := s[3 : 3+end]
	v, err := strconv.ParseUint(hex, 16, 32)
	switch {
	case err != nil || len(hex) < 2:
		return bad("2 to 6 hex digits expected")
	case v == 0 || v > utf8.MaxRune || (v >= 0xD800 && v <= 0xDFFF):
		return bad("not a Unicode scalar value")
	case !strings.EqualFold(hex, fmt.Sprintf("%02X", v)):
		return bad(fmt.Sprintf("written without leading zeros, as \\x{%02X}", v))
	case v < utf8.RuneSelf && isQChar(byte(v)):
		return bad(fmt.Sprintf("%q stands for itself", rune(v)))
	}
	return rune(v), 3 + end + 1, nil
}

// EncodeUTF8Addr encodes an address of type utf-8 (RFC 6533 §3): with
// unitext, the utf-8-addr-unitext form, where UTF-8 stands for itself, for
// a server that offers SMTPUTF8 to a transaction that uses it; without, the
// 7-bit utf-8-addr-xtext form, every non-ASCII character an \x{HEX}. In
// both, '+', '=', '\', space and controls are \x{HEX}. Invalid UTF-8 comes
// out as U+FFFD, and NUL as \x{00}, which DecodeUTF8Addr refuses.
func EncodeUTF8Addr(s string, unitext bool) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r < utf8.RuneSelf && isQChar(byte(r)):
			b.WriteByte(byte(r))
		case r >= utf8.RuneSelf && unitext:
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, `\x{%02X}`, r)
		}
	}
	return b.String()
}

// isQChar reports whether c is a QCHAR of RFC 6533 §3: printable ASCII
// except '+', '=' and '\'.
func isQChar(c byte) bool {
	return c >= 0x21 && c <= 0x7e && c != '+' && c != '=' && c != '\\'
}
