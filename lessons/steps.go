package lessons

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"smtplab/engine/client"
	"smtplab/engine/lab"
)

// Step is one step of a solution. It does exactly one of six things:
//
//	type: EHLO laptop.example.com     a line typed in the terminal; the lab adds CR LF
//	raw: 'hi\n.\r\n'                  bytes sent exactly as written, nothing added;
//	                                  \r \n \t \0 and \\ are the only escapes
//	submit: {from, to: [...], subject, body, attachments: [{name, type, content}]}
//	                                  a message handed to the learner's mail client
//	advance: 30m                      let virtual time pass (a Go duration)
//	connect: mx.example.org:25        the terminal hangs up and connects to this host
//	                                  and port (25, 587 or 465) of the lab's world
//	lab: busy-mx                      open another of the lesson's labs: the steps
//	                                  after it happen in that lab's world (fresh the
//	                                  first time, as the learner left it after that)
//
// A solution starts in the lab of the lesson's own scenario; lab: with
// that scenario goes back to it.
// A step with none of them set types an empty line, as the blank line
// between a message's header and its body: write it as type: "".
//
// In YAML, write raw text in single quotes: inside double quotes YAML reads
// \r and \n itself, and the linter refuses the real line breaks it makes.
//
// An attachment's content is the file itself: in YAML its text, usually
// as a block (content: |), or for a file that is not text its bytes in
// base64 behind YAML's own tag for them: content: !!binary iVBORw0KGgo=.
// Its type is a media type such as text/plain (empty means
// application/octet-stream).
//
// As JSON a step has the same keys, with empty ones left out, so every
// step but lab: is exactly the lab.Input the engine's facade and
// snapshots take:
//
//	{"type":"EHLO laptop.example.com"}
//	{}                                                  (an empty line)
//	{"raw":"hi\\n.\\r\\n"}                              (the escapes as text)
//	{"submit":{"from":"alice@example.com","to":["bob@example.org"],"subject":"Hi","body":"Hello."}}
//	{"submit":{…,"attachments":[{"name":"a.txt","type":"text/plain","content":"aGkK"}]}}
//	                                                    (in JSON a file's content is always base64)
//	{"advance":"10m"}
//	{"connect":"mx.example.org:25"}
type Step struct {
	Type    string   `yaml:"type,omitempty" json:"type,omitempty"`
	Raw     string   `yaml:"raw,omitempty" json:"raw,omitempty"`
	Submit  *Message `yaml:"submit,omitempty" json:"submit,omitempty"`
	Advance string   `yaml:"advance,omitempty" json:"advance,omitempty"`
	Connect string   `yaml:"connect,omitempty" json:"connect,omitempty"`
	Lab     string   `yaml:"lab,omitempty" json:"lab,omitempty"` // a scenario: not an input but a change of world
}

// Message is what a submit step hands to the mail client: the envelope
// sender and recipients (also written into From: and To:), a subject, a
// plain-text body and files to attach. It mirrors lab.Message field for
// field.
type Message struct {
	From        string       `yaml:"from" json:"from"`
	To          []string     `yaml:"to" json:"to"`
	Subject     string       `yaml:"subject" json:"subject"`
	Body        string       `yaml:"body" json:"body"`
	Attachments []Attachment `yaml:"attachments,omitempty" json:"attachments,omitempty"`
}

// Attachment is a file a submit step attaches; it mirrors lab.Attachment.
type Attachment struct {
	Name    string      `yaml:"name" json:"name"`
	Type    string      `yaml:"type,omitempty" json:"type"`
	Content FileContent `yaml:"content" json:"content"`
}

// FileContent is an attachment's bytes. YAML has no way of its own to
// read a plain string into bytes, so FileContent takes the text of the
// file as written, or the bytes a !!binary scalar decodes to (see Step).
// In JSON it is a []byte like lab.Attachment's content: base64.
type FileContent []byte

// UnmarshalYAML reads a scalar's text, which for !!binary is its bytes.
func (c *FileContent) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*c = FileContent(s)
	return nil
}

// Input returns the step as the input the engine's facade performs with
// lab.World.Do: Type, TypeRaw, Submit, Advance or Connect. A lab step is
// no input: whoever replays a solution opens that lab's world instead.
func (s Step) Input() lab.Input {
	in := lab.Input{Type: s.Type, Raw: s.Raw, Advance: s.Advance, Connect: s.Connect}
	if s.Submit != nil {
		m := s.Submit.message()
		in.Submit = &m
	}
	return in
}

// message returns m as the lab's facade takes it, in memory of its own.
func (m Message) message() lab.Message {
	out := lab.Message{From: m.From, To: slices.Clone(m.To), Subject: m.Subject, Body: m.Body}
	for _, a := range m.Attachments {
		out.Attachments = append(out.Attachments, lab.Attachment{Name: a.Name, Type: a.Type, Content: slices.Clone(a.Content)})
	}
	return out
}

// kinds names the actions a step sets, for messages.
func (s Step) kinds() []string {
	var set []string
	for _, k := range []struct {
		name string
		on   bool
	}{{"type", s.Type != ""}, {"raw", s.Raw != ""}, {"submit", s.Submit != nil}, {"advance", s.Advance != ""}, {"connect", s.Connect != ""}, {"lab", s.Lab != ""}} {
		if k.on {
			set = append(set, k.name)
		}
	}
	return set
}

// lintStep returns what is wrong with one step, in words for the author.
func lintStep(s Step) []string {
	if set := s.kinds(); len(set) > 1 {
		return []string{fmt.Sprintf("has both %s; a step does exactly one of: %s", strings.Join(set, " and "), strings.Join(yamlKeys(reflect.TypeFor[Step]()), ", "))}
	}
	switch {
	case s.Connect != "":
		if _, _, err := lab.ParseTarget(s.Connect); err != nil {
			return []string{err.Error()}
		}
	case s.Advance != "":
		d, err := time.ParseDuration(s.Advance)
		if err != nil || d <= 0 || d > lab.MaxAdvance {
			return []string{fmt.Sprintf("advance %q is not a positive duration up to %s, like 30s, 5m or 2h", s.Advance, lab.MaxAdvance)}
		}
	case s.Raw != "":
		n, err := rawLength(s.Raw)
		switch {
		case err != nil:
			return []string{"raw: " + err.Error()}
		case n > lab.MaxLineLength:
			return []string{fmt.Sprintf("raw sends %d bytes; the lab takes at most %d at once", n, lab.MaxLineLength)}
		}
	case s.Submit != nil:
		return lintMessage(*s.Submit)
	case strings.ContainsAny(s.Type, "\r\n"):
		return []string{"a typed line cannot hold a line break; write one step per line, or use raw"}
	case len(s.Type) > maxLine:
		return []string{fmt.Sprintf("the line is %d characters; SMTP allows %d (RFC 5321 §4.5.3.1.6)", len(s.Type), maxLine)}
	}
	return nil
}

// rawLength checks the escapes of a raw step, the ones lab.World.TypeRaw
// reads, and returns how many bytes it sends. CR, LF and NUL must be
// written as escapes, so the step reads the same in YAML, JSON and the
// terminal.
func rawLength(s string) (int, error) {
	if !utf8.ValidString(s) {
		return 0, errors.New("not text (UTF-8), which the lab takes only") // see lab's textOnly
	}
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r' || c == '\n' || c == 0:
			return 0, fmt.Errorf(`a real %s; write it as an escape (\r, \n or \0) inside single quotes`, controlName(c))
		case c != '\\':
		case i+1 == len(s):
			return 0, errors.New(`a lone \ ends the text; write \\ for a backslash`)
		case strings.IndexByte(`rnt0\`, s[i+1]) < 0:
			return 0, fmt.Errorf(`unknown escape \%c; the escapes are \r, \n, \t, \0 and \\`, s[i+1])
		default:
			i++
		}
		n++
	}
	return n, nil
}

func controlName(c byte) string {
	switch c {
	case '\r':
		return "carriage return"
	case '\n':
		return "line feed"
	}
	return "NUL byte"
}

// lintMessage checks a submit step with the same address parser the lab's
// mail client uses, the header fields the lab writes, and its attachments
// with the lab's own rules.
func lintMessage(m Message) []string {
	var ps []string
	if len(m.To) == 0 {
		ps = append(ps, "submit: to lists no recipient")
	}
	if _, err := client.ParseEnvelope(m.From, m.To...); err != nil {
		ps = append(ps, "submit: "+err.Error())
	}
	if strings.ContainsAny(m.Subject, "\r\n") {
		ps = append(ps, "submit: the subject cannot hold a line break")
	}
	if err := lab.CheckAttachments(m.message().Attachments); err != nil {
		ps = append(ps, "submit: "+err.Error())
	}
	return ps
}
