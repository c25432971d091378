package smtp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Verb is an SMTP command verb, always upper case.
type Verb string

// The verbs SMTP Lab's server understands (RFC 5321 §4.1.1, RFC 3207,
// RFC 4954, RFC 3030).
const (
	HELO     Verb = "HELO"
	EHLO     Verb = "EHLO"
	MAIL     Verb = "MAIL"
	RCPT     Verb = "RCPT"
	DATA     Verb = "DATA"
	BDAT     Verb = "BDAT"
	RSET     Verb = "RSET"
	NOOP     Verb = "NOOP"
	QUIT     Verb = "QUIT"
	VRFY     Verb = "VRFY"
	EXPN     Verb = "EXPN"
	HELP     Verb = "HELP"
	STARTTLS Verb = "STARTTLS"
	AUTH     Verb = "AUTH"
)

// Command is one parsed command line.
type Command struct {
	Verb Verb   // upper case; may be a verb the server does not know
	Arg  string // everything after the verb and one space, as sent
}

// ErrEmptyCommand is returned for a line with no verb at all.
var ErrEmptyCommand = errors.New("empty command line")

// ParseCommand splits a command line (without CRLF) into verb and argument.
// Verbs are case-insensitive (RFC 5321 §2.4). Only letters are allowed in a
// verb; anything else makes the line unrecognisable (500). The argument is
// kept as sent: each command checks its own syntax.
func ParseCommand(line []byte) (Command, error) {
	verb, arg, err := CutVerb(line)
	if err != nil {
		return Command{}, err
	}
	cmd := Command{Verb: verb}
	if len(arg) > 0 {
		cmd.Arg = string(arg)
	}
	return cmd, nil
}

// CutVerb is ParseCommand without the copy of the argument: it returns the
// verb and the rest of line after the verb and one space, which shares
// line's memory. A server that keeps only some arguments, or already holds
// the same one as a string, need not make a new string of each.
func CutVerb(line []byte) (Verb, []byte, error) {
	// Every verb but STARTTLS has four letters, and nearly every line a
	// server reads starts with one: those are read at once, as a word.
	if len(line) == 4 || len(line) > 4 && line[4] == ' ' {
		if v := fourLetterVerb(line); v != "" {
			if len(line) == 4 {
				return v, nil, nil
			}
			return v, line[5:], nil
		}
	}
	verb, arg, _ := bytes.Cut(line, []byte{' '})
	if len(verb) == 0 {
		return "", nil, ErrEmptyCommand
	}
	if len(verb) > 16 {
		return "", nil, fmt.Errorf("command verb of %d characters is not SMTP", len(verb))
	}
	var up [16]byte
	for i, c := range verb {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c < 'A' || c > 'Z' {
			return "", nil, fmt.Errorf("command verb %q has a character that is not a letter", verb)
		}
		up[i] = c
	}
	v := up[:len(verb)]
	if k := knownVerb(string(v)); k != "" {
		return k, arg, nil
	}
	return Verb(v), arg, nil // only an unknown verb costs a new string
}

// fourLetterVerb returns the verb of four letters that p starts with, in
// upper or lower case, or "" when it starts with none this package
// defines. Clearing the bit of each octet that tells a lower-case letter
// from its upper case leaves every other octet something other than an
// upper-case letter, so only a verb's letters, in any case, give its word.
func fourLetterVerb(p []byte) Verb {
	switch binary.LittleEndian.Uint32(p) &^ 0x20202020 {
	case 'H' | 'E'<<8 | 'L'<<16 | 'O'<<24:
		return HELO
	case 'E' | 'H'<<8 | 'L'<<16 | 'O'<<24:
		return EHLO
	case 'M' | 'A'<<8 | 'I'<<16 | 'L'<<24:
		return MAIL
	case 'R' | 'C'<<8 | 'P'<<16 | 'T'<<24:
		return RCPT
	case 'D' | 'A'<<8 | 'T'<<16 | 'A'<<24:
		return DATA
	case 'B' | 'D'<<8 | 'A'<<16 | 'T'<<24:
		return BDAT
	case 'R' | 'S'<<8 | 'E'<<16 | 'T'<<24:
		return RSET
	case 'N' | 'O'<<8 | 'O'<<16 | 'P'<<24:
		return NOOP
	case 'Q' | 'U'<<8 | 'I'<<16 | 'T'<<24:
		return QUIT
	case 'V' | 'R'<<8 | 'F'<<16 | 'Y'<<24:
		return VRFY
	case 'E' | 'X'<<8 | 'P'<<16 | 'N'<<24:
		return EXPN
	case 'H' | 'E'<<8 | 'L'<<16 | 'P'<<24:
		return HELP
	case 'A' | 'U'<<8 | 'T'<<16 | 'H'<<24:
		return AUTH
	}
	return ""
}

// knownVerb returns the constant above that the upper-case verb v names,
// or "" for a verb this package does not define. Returning the constant
// saves a new string for every command; a switch on strings compiles to a
// search by length and value, fewer comparisons than trying each verb in
// turn, and v does not escape, so string(v) at the call costs nothing.
func knownVerb(v string) Verb {
	switch Verb(v) {
	case HELO:
		return HELO
	case EHLO:
		return EHLO
	case MAIL:
		return MAIL
	case RCPT:
		return RCPT
	case DATA:
		return DATA
	case BDAT:
		return BDAT
	case RSET:
		return RSET
	case NOOP:
		return NOOP
	case QUIT:
		return QUIT
	case VRFY:
		return VRFY
	case EXPN:
		return EXPN
	case HELP:
		return HELP
	case STARTTLS:
		return STARTTLS
	case AUTH:
		return AUTH
	}
	return ""
}

// Known reports whether v is one of the verbs this package defines.
func (v Verb) Known() bool { return knownVerb(string(v)) != "" }
