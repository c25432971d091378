package smtp

import (
	"bytes"
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

// knownVerbs lets ParseCommand return the constant strings above instead of
// allocating a new string for every command.
var knownVerbs = [...]Verb{HELO, EHLO, MAIL, RCPT, DATA, BDAT, RSET, NOOP, QUIT, VRFY, EXPN, HELP, STARTTLS, AUTH}

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
	verb, arg, _ := bytes.Cut(line, []byte{' '})
	if len(verb) == 0 {
		return Command{}, ErrEmptyCommand
	}
	if len(verb) > 16 {
		return Command{}, fmt.Errorf("command verb of %d characters is not SMTP", len(verb))
	}
	var up [16]byte
	for i, c := range verb {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c < 'A' || c > 'Z' {
			return Command{}, fmt.Errorf("command verb %q has a character that is not a letter", verb)
		}
		up[i] = c
	}
	v := up[:len(verb)]
	var cmd Command
	for _, k := range knownVerbs {
		if string(v) == string(k) {
			cmd.Verb = k
			break
		}
	}
	if cmd.Verb == "" { // only an unknown verb costs a new string
		cmd.Verb = Verb(v)
	}
	if len(arg) > 0 {
		cmd.Arg = string(arg)
	}
	return cmd, nil
}

// Known reports whether v is one of the verbs this package defines.
func (v Verb) Known() bool {
	for _, k := range knownVerbs {
		if v == k {
			return true
		}
	}
	return false
}
