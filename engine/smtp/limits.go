package smtp

// Limits are the sizes RFC 5321 §4.5.3.1 says every implementation must at
// least accept. A server may accept more; it must never accept less. All of
// them count octets, and the line limits include the final CRLF.
type Limits struct {
	CommandLine int   // §4.5.3.1.4: 512 octets
	TextLine    int   // §4.5.3.1.6: 1000 octets
	ReplyLine   int   // §4.5.3.1.5: 512 octets
	LocalPart   int   // §4.5.3.1.1: 64 octets
	Domain      int   // §4.5.3.1.2: 255 octets
	Path        int   // §4.5.3.1.3: 256 octets, with the angle brackets
	Recipients  int   // §4.5.3.1.8: at least 100 recipients per message
	MessageSize int64 // RFC 1870: advertised with SIZE; 0 means no limit
	MaxErrors   int   // bad commands before the server gives up with 421
	// MaxJunk is how many commands that move no mail (NOOP, RSET, VRFY,
	// EXPN, HELP) a client may send between two messages before each
	// more one counts as a bad command too, as Postfix's
	// smtpd_junk_command_limit does: a client that only keeps a
	// connection busy is let go like one that only makes mistakes.
	MaxJunk int
}

// DefaultLimits returns the RFC minimums, a 10 MiB message limit, a
// tolerance of 10 bad commands and, as Postfix, of 100 commands that move
// no mail.
func DefaultLimits() Limits {
	return Limits{
		CommandLine: 512,
		TextLine:    1000,
		ReplyLine:   512,
		LocalPart:   64,
		Domain:      255,
		Path:        256,
		Recipients:  100,
		MessageSize: 10 << 20,
		MaxErrors:   10,
		MaxJunk:     100,
	}
}
