package lab

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"smtplab/engine/client"
	"smtplab/engine/dns"
	"smtplab/engine/labtls"
	"smtplab/engine/mta"
	"smtplab/engine/simnet"
	"smtplab/engine/smtp"
	"smtplab/engine/trace"
)

// World is one running scenario. A world is fully described by its
// scenario, its seed and the inputs it was given (its Snapshot): replaying
// them gives the same trace, byte for byte, which is how undo and
// permalinks work.
type World struct {
	sc      *Scenario
	seed    int64
	net     *simnet.World
	mail    *mta.Network
	learner *learner
	inputs  []Input
	// attached counts the octets of every file the world's messages
	// carried, against MaxWorldAttachmentBytes.
	attached int
	// replaying: Restore is replaying inputs, and nobody reads their
	// Results, which are left empty (building State each time made a long
	// replay quadratic in the mail delivered).
	replaying bool
	// dates writes the Date: header of the messages the mail client
	// composes, many in one second of a busy world.
	dates mta.DateCache
}

// Input is one thing the learner did.
type Input struct {
	Type    string   `json:"type,omitempty"`    // a line typed in the terminal (CRLF is added)
	Raw     string   `json:"raw,omitempty"`     // bytes typed with escapes: \r \n \t \0 \\ (nothing is added)
	Submit  *Message `json:"submit,omitempty"`  // a message sent from the learner's mail client
	Advance string   `json:"advance,omitempty"` // virtual time to let pass, e.g. "30m"
	Connect string   `json:"connect,omitempty"` // "host:port": the terminal hangs up and connects there
}

// Message is what a mail client submits: a plain-text message, or with
// attachments a MIME multipart one (see compose).
type Message struct {
	From        string       `json:"from"`
	To          []string     `json:"to"`
	Subject     string       `json:"subject"`
	Body        string       `json:"body"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// clone returns a copy of m that shares no memory with it: the world's
// input log and whoever submitted or reads it each keep their own.
func (m Message) clone() Message {
	m.To = slices.Clone(m.To)
	if m.Attachments != nil {
		as := make([]Attachment, len(m.Attachments))
		for i, a := range m.Attachments {
			a.Content = slices.Clone(a.Content)
			as[i] = a
		}
		m.Attachments = as
	}
	return m
}

// Result is what every action returns: the events it caused and the state
// after it.
type Result struct {
	Events []trace.Event `json:"events"`
	State  State         `json:"state"`
}

// Snapshot is a world as data.
type Snapshot struct {
	Scenario string  `json:"scenario"`
	Seed     int64   `json:"seed"`
	Inputs   []Input `json:"inputs"`
}

// Limits on what a world accepts, so a page cannot make it grow without
// bound.
const (
	MaxInputs     = 10000
	MaxLineLength = 64 << 10
	MaxAdvance    = 30 * 24 * time.Hour
	// MaxClock is how far from its start a world's clock can be moved:
	// the clock is a time.Duration, which ends 292 years in, and would
	// wrap round to a date before the start. MaxInputs advances of
	// MaxAdvance would go 822 years.
	MaxClock       = maxClockYears * 365 * 24 * time.Hour
	maxClockYears  = 200
	maxRecipients  = 100
	maxMessageBody = 1 << 20
)

// New builds the world of the named scenario. The same name and seed
// always give the same world.
func New(scenario string, seed int64) (*World, error) {
	sc, err := LoadScenario(scenario)
	if err != nil {
		return nil, err
	}
	return build(sc, seed)
}

// build creates hosts, DNS, faults and the learner's first connection.
func build(sc *Scenario, seed int64) (*World, error) {
	net := simnet.New(seed, simnet.WithStart(sc.Start))
	zone, err := sc.zone()
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	mail := mta.NewNetwork(net, dns.NewResolver(zone))
	hs, err := newHandshaker(net, sc.Hosts)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	mail.TLS = hs
	mail.DKIMKeys = labtls.DKIMKey
	for _, hc := range sc.Hosts {
		if _, err := mail.AddHost(hc); err != nil {
			return nil, fmt.Errorf("scenario %s: %w", sc.Name, err)
		}
	}
	w := &World{sc: sc, seed: seed, net: net, mail: mail}
	if err := w.applyFaults(); err != nil {
		return nil, err
	}
	net.Emit(trace.Event{Kind: trace.Note, Text: fmt.Sprintf("scenario %s: %s", sc.Name, sc.Purpose)})
	w.learner = &learner{w: w, server: sc.Learner.Connect, port: sc.Learner.Port}
	w.learner.connect()
	net.Settle()
	return w, nil
}

// applyFaults switches on what the scenario breaks, and schedules the end
// of faults that heal.
func (w *World) applyFaults() error {
	for _, f := range w.sc.Faults {
		heal := func(fn func()) {
			if f.Until > 0 {
				w.net.After(time.Duration(f.Until), fn)
			}
		}
		switch f.Kind {
		case "down", "unreachable":
			h, _ := w.net.Host(f.Host)
			set := h.SetDown
			if f.Kind == "unreachable" {
				set = h.SetUnreachable
			}
			set(true)
			heal(func() { set(false) })
		case "busy":
			h, _ := w.mail.Host(f.Host)
			h.SetBusy(true)
			heal(func() { h.SetBusy(false) })
		case "dns":
			df := dns.Fault{Name: f.Name, Type: dns.Type(f.RType), Failure: dns.Failure(f.Error)}
			if err := w.mail.Resolver.Inject(df); err != nil {
				return fmt.Errorf("fault: %w", err)
			}
			w.net.Emit(trace.Event{Kind: trace.Fault, Name: f.Name, RType: f.RType,
				Text: fmt.Sprintf("DNS answers %s for %s %s", f.Error, f.Name, f.RType)})
			heal(func() {
				w.mail.Resolver.Heal(f.Name, dns.Type(f.RType))
				w.net.Emit(trace.Event{Kind: trace.Fault, Name: f.Name, RType: f.RType, Text: "DNS answers normally again for " + f.Name})
			})
		case "drop":
			if f.BeforeReply != "" {
				w.mail.CutBeforeReply(f.Host, f.Peer, smtp.Reason(f.BeforeReply))
				break
			}
			a, _ := w.net.Host(f.Host)
			b, _ := w.net.Host(f.Peer)
			w.net.DropAfter(a, b, f.AfterBytes)
		case "latency":
			a, _ := w.net.Host(f.Host)
			b, _ := w.net.Host(f.Peer)
			w.net.SetLatency(a, b, time.Duration(f.Latency))
		case "strip-starttls":
			w.mail.StripSTARTTLS(f.Host, f.Peer, true)
			heal(func() { w.mail.StripSTARTTLS(f.Host, f.Peer, false) })
		case "block-port":
			h, _ := w.net.Host(f.Host)
			w.net.BlockPort(h, f.Port, true)
			heal(func() { w.net.BlockPort(h, f.Port, false) })
		}
	}
	return nil
}

// Scenario returns the scenario the world was built from.
func (w *World) Scenario() *Scenario { return w.sc }

// Since returns the trace events with an id greater than id.
func (w *World) Since(id int) []trace.Event { return w.net.Log().Since(id) }

// Trace returns every event so far, in a new slice.
func (w *World) Trace() []trace.Event { return w.net.Log().All() }

// KeepTrace bounds the trace to about its newest events events and
// textOctets octets of their text (see trace.Log.Keep), for a world that
// serves real clients for as long as a process runs (the TCP bridge).
// Snapshots and determinism are about simulated worlds, which never call
// it.
func (w *World) KeepTrace(events, textOctets int) { w.net.Log().Keep(events, textOctets) }

// KeepMail makes every mailbox of the world keep only about its newest n
// octets of mail (see mta.Mailboxes.KeepBytes), for the same worlds as
// KeepTrace. A removal is noted in the trace.
func (w *World) KeepMail(n int) {
	for _, h := range w.mail.Hosts() {
		h.Mailboxes.KeepBytes(n)
	}
}

// TraceLen returns the id of the last trace event.
func (w *World) TraceLen() int { return w.net.Log().Len() }

// Snapshot returns the world as scenario, seed and inputs. A world with
// no input yet has an empty list, not a nil one: its JSON (a permalink, a
// saved world) says "inputs":[] rather than null.
func (w *World) Snapshot() Snapshot {
	inputs := make([]Input, len(w.inputs))
	for i, in := range w.inputs {
		if in.Submit != nil { // its own copy: editing a snapshot must not rewrite the world
			m := in.Submit.clone()
			in.Submit = &m
		}
		inputs[i] = in
	}
	return Snapshot{Scenario: w.sc.Name, Seed: w.seed, Inputs: inputs}
}

// Restore rebuilds a world by replaying a snapshot.
func Restore(s Snapshot) (*World, error) {
	if len(s.Inputs) > MaxInputs {
		return nil, fmt.Errorf("snapshot has %d inputs; at most %d are replayed", len(s.Inputs), MaxInputs)
	}
	w, err := New(s.Scenario, s.Seed)
	if err != nil {
		return nil, err
	}
	w.replaying = true
	for i, in := range s.Inputs {
		if _, err := w.Do(in); err != nil {
			return nil, fmt.Errorf("replaying input %d: %w", i+1, err)
		}
	}
	w.replaying = false
	return w, nil
}

// Undo returns a new world with every input but the last.
func (w *World) Undo() (*World, error) {
	s := w.Snapshot()
	if len(s.Inputs) > 0 {
		s.Inputs = s.Inputs[:len(s.Inputs)-1]
	}
	return Restore(s)
}

// Do performs one input of any kind.
func (w *World) Do(in Input) (Result, error) {
	set := 0
	for _, b := range []bool{in.Type != "", in.Raw != "", in.Submit != nil, in.Advance != "", in.Connect != ""} {
		if b {
			set++
		}
	}
	if set > 1 {
		return Result{}, errors.New("an input is one of type, raw, submit, advance or connect")
	}
	switch {
	case in.Connect != "":
		return w.Connect(in.Connect)
	case in.Raw != "":
		return w.TypeRaw(in.Raw)
	case in.Submit != nil:
		return w.Submit(*in.Submit)
	case in.Advance != "":
		d, err := time.ParseDuration(in.Advance)
		if err != nil {
			return Result{}, fmt.Errorf("advance %q: %w (write it like 90s, 30m or 4h)", in.Advance, err)
		}
		return w.Advance(d)
	}
	return w.Type(in.Type)
}

// Type sends one line from the learner's terminal to the server it is
// connected to, adding CRLF. When the connection was closed it first opens
// a new one and waits for the greeting.
func (w *World) Type(line string) (Result, error) {
	if err := textOnly("a typed line", line); err != nil {
		return Result{}, err
	}
	if strings.ContainsAny(line, "\r\n") {
		return Result{}, errors.New("a typed line cannot contain a line break; type the lines one by one")
	}
	return w.send(Input{Type: line}, []byte(line+"\r\n"))
}

// TypeRaw sends bytes written with escapes (\r, \n, \t, \0, \\) exactly as
// they are, with nothing added: the way to try bare LFs and smuggling.
func (w *World) TypeRaw(s string) (Result, error) {
	if err := textOnly("raw input", s); err != nil {
		return Result{}, err
	}
	b, err := unescape(s)
	if err != nil {
		return Result{}, err
	}
	if len(b) == 0 {
		// Nothing would be sent, and an empty Raw input would replay as a
		// typed empty line (see Do).
		return Result{}, errors.New("there is nothing to send")
	}
	return w.send(Input{Raw: s}, b)
}

// textOnly refuses what is not UTF-8. A world is its inputs, kept as JSON
// (snapshots, permalinks, saved progress), which holds only text: a byte
// that is not UTF-8 would come back as U+FFFD, and the world replayed from
// its snapshot would not be this one. The page sends only text; Go callers
// might not.
func textOnly(what string, texts ...string) error {
	for _, s := range texts {
		for i, r := range s {
			if r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
				return fmt.Errorf("%s must be text (UTF-8): the byte %#02x at %d is not", what, s[i], i)
			}
		}
	}
	return nil
}

// roomForInput refuses an input past MaxInputs: a world is its inputs, and
// one with more than Restore replays could not be saved or undone.
func (w *World) roomForInput() error {
	if len(w.inputs) >= MaxInputs {
		return fmt.Errorf("this world has had %d inputs, its limit; reset it", MaxInputs)
	}
	return nil
}

func (w *World) send(in Input, b []byte) (Result, error) {
	if len(b) > MaxLineLength {
		return Result{}, fmt.Errorf("a line of %d bytes is more than the lab takes (%d)", len(b), MaxLineLength)
	}
	if err := w.roomForInput(); err != nil {
		return Result{}, err
	}
	before := w.net.Log().Len()
	w.inputs = append(w.inputs, in)
	w.learner.send(b)
	w.net.Settle()
	return w.result(before), nil
}

// Submit hands a message to the learner's mail client, which submits it to
// the scenario's server (learner.submit, else learner.connect, wherever the
// terminal is connected now: a mail client keeps its settings): on port 587
// with STARTTLS and AUTH when the server listens there, else on port 25.
func (w *World) Submit(m Message) (Result, error) {
	// CheckAttachments holds the files' names to the same rule.
	if err := textOnly("a message's addresses, subject and text", append([]string{m.From, m.Subject, m.Body}, m.To...)...); err != nil {
		return Result{}, err
	}
	if len(m.To) == 0 || len(m.To) > maxRecipients {
		return Result{}, fmt.Errorf("a message needs 1 to %d recipients", maxRecipients)
	}
	if len(m.Body) > maxMessageBody {
		return Result{}, fmt.Errorf("the body is larger than %d bytes", maxMessageBody)
	}
	if err := CheckAttachments(m.Attachments); err != nil {
		return Result{}, err
	}
	attached := attachedBytes(m.Attachments)
	if w.attached+attached > MaxWorldAttachmentBytes {
		return Result{}, fmt.Errorf("this world's messages have carried %d KiB of attachments, and these %d KiB would pass its limit of %d KiB (so that it can be saved); reset it, or attach less",
			w.attached>>10, (attached+1023)>>10, MaxWorldAttachmentBytes>>10)
	}
	// A mail client writes the From: header from its user's address, and
	// RFC 5322 §3.6.2 requires one: an empty From would go out as the null
	// sender <>, which only bounces may use (RFC 5321 §4.5.5), with an
	// empty From: line.
	if strings.TrimSpace(m.From) == "" {
		return Result{}, errors.New("the mail client needs a From address: the sender's, such as alice@example.com")
	}
	env, err := client.ParseEnvelope(m.From, m.To...)
	if err != nil {
		return Result{}, err
	}
	if n := utf8.RuneCountInString(m.Subject); n > maxSubject {
		return Result{}, fmt.Errorf("the Subject is %d characters long; the mail client sends at most %d: a header line may hold 998 (RFC 5322 §2.1.1), and a Subject without spaces cannot be folded over several lines", n, maxSubject)
	}
	for _, s := range append([]string{m.Subject, m.From}, m.To...) {
		if strings.ContainsAny(s, "\r\n") {
			return Result{}, errors.New("header fields cannot contain line breaks")
		}
	}
	if err := w.roomForInput(); err != nil {
		return Result{}, err
	}
	before := w.net.Log().Len()
	m = m.clone()
	w.inputs = append(w.inputs, Input{Submit: &m})
	w.attached += attached
	w.submit(m, env)
	w.net.Settle()
	return w.result(before), nil
}

// submit starts the mail client's session for m; the world's event queue
// runs it.
func (w *World) submit(m Message, env client.Envelope) {
	from, _ := w.mail.Host(w.sc.Learner.Host)
	server := w.sc.Learner.Submit
	if server == "" {
		server = w.sc.Learner.Connect
	}
	to, _ := w.mail.Host(server)
	cfg := client.Config{Hostname: w.sc.Learner.Host, TLS: client.TLSOpportunistic}
	port := 25
	for _, p := range to.Config().Ports {
		if p == 587 {
			port = 587
			cfg.TLS = client.TLSRequired
			cfg.Auth = &client.Credentials{Username: w.sc.Learner.User, Password: w.sc.Learner.Password}
		}
	}
	n := len(w.inputs)
	w.mail.Send(mta.SendRequest{From: from, To: to.Name(), Port: port, Config: cfg, Envelope: env,
		Data: w.compose(m, n),
		Done: func(out client.Outcome, connErr error) {
			var room [256]byte
			note := appendClientNote(room[:0], out, connErr)
			if len(m.Attachments) > 0 {
				note = append(append(note, "; "...), attachmentSummary(m.Attachments)...)
			}
			w.net.EmitText(&trace.Event{Kind: trace.Note, Host: from.Name()}, note)
		}})
}

// appendClientNote appends to note how the mail client's session for a
// message ended. A
// permanent failure is no bounce: the server refused the message inside
// the session, or the client never sent it (too large for the server's
// SIZE, say). A bounce is a delivery status notification a server mails
// back later, after it has taken the message.
//
// Every message sent has one, so it is written into one buffer, the reply
// with it, rather than put together from strings, and traced from there
// (simnet.World.EmitText) without being made a string.
func appendClientNote(note []byte, out client.Outcome, connErr error) []byte {
	if connErr != nil {
		return append(append(note, "your mail client could not connect: "...), connErr.Error()...)
	}
	note = append(note, "your mail client: "...)
	switch {
	case out.Status == client.Bounced && out.Reply.Code != 0:
		note = append(note, "the server refused the message"...)
	case out.Status == client.Bounced:
		note = append(note, "the message was not sent"...)
	default:
		note = append(append(note, "the message was "...), out.Status.String()...)
	}
	if out.SevenBit {
		// engine/client converted it (RFC 6152 §3), as the relays' notes say.
		note = append(note, ", converted to 7 bits (its 8-bit parts quoted-printable) for a server that could not take it as it was (RFC 6152 §3)"...)
	}
	switch {
	case out.Reply.Code != 0:
		// The reply as its String method gives it: without the last CRLF.
		note = bytes.TrimSuffix(out.Reply.AppendTo(append(note, " ("...), out.Reply.Enhanced != ""), []byte("\r\n"))
		note = append(note, ')')
	case out.Err != nil:
		note = append(append(append(note, " ("...), out.Err.Error()...), ')')
	}
	return note
}

// compose writes an RFC 5322 message for m; n, the input's number, makes
// the Message-ID unique. A Subject beyond ASCII goes in encoded-words
// (see writeUnstructured). Without attachments the body is the whole
// message's text/plain content; with them, the first part of a
// multipart/mixed (see writeMixed). Either way the text goes in the
// transfer encoding it needs (see writeText).
func (w *World) compose(m Message, n int) []byte {
	to := strings.Join(m.To, ", ")
	text := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	// Room for all but attachments at once, where the buffer would grow
	// a few times over: every message sent is composed here. The buffer
	// is the message: it does not escape, so its octets are the one
	// allocation, not copied once more out of a strings.Builder.
	var b bytes.Buffer
	b.Grow(len("From: \r\nTo: \r\n") + len(m.From) + len(to) + 2*len(m.Subject) + 256 + len(w.sc.Learner.Host) + len(text))
	for _, s := range [...]string{"From: ", m.From, "\r\nTo: ", to, "\r\n"} {
		b.WriteString(s)
	}
	writeUnstructured(&b, "Subject", m.Subject)
	var room [64]byte
	b.WriteString("Date: ")
	b.Write(w.dates.Append(room[:0], w.net.Date()))
	b.WriteString("\r\nMessage-ID: <")
	b.Write(strconv.AppendInt(room[:0], w.seed, 10))
	b.WriteByte('.')
	b.Write(strconv.AppendInt(room[:0], int64(n), 10))
	for _, s := range [...]string{"@", w.sc.Learner.Host, ">\r\nMIME-Version: 1.0\r\n"} {
		b.WriteString(s)
	}
	if len(m.Attachments) == 0 {
		writeText(&b, text)
	} else {
		writeMixed(&b, boundaryFor(w.seed, n, text), text, m.Attachments)
	}
	return b.Bytes()
}

// Connect hangs up the terminal's connection, as a client that closes its
// socket does (no QUIT), and connects it to target, "host:port": one of
// the world's hosts, by name or address, on an SMTP port, 25, 587 or 465
// (where the terminal starts TLS at once). Like connect(2) it waits for
// the answer: a refusal comes within a round trip, but a dial nobody
// answers (a host unreachable, a port filtered) takes the connect timeout,
// 30 virtual seconds, which the trace's clock event shows. Lines typed
// afterwards, and after a QUIT, go to that host and port.
func (w *World) Connect(target string) (Result, error) {
	host, port, err := w.parseTarget(target)
	if err != nil {
		return Result{}, err
	}
	if err := w.roomForInput(); err != nil {
		return Result{}, err
	}
	before := w.net.Log().Len()
	// The log keeps the host's own name, however the learner wrote it.
	w.inputs = append(w.inputs, Input{Connect: host + ":" + strconv.Itoa(port)})
	w.learner.moveTo(host, port)
	return w.result(before), nil
}

// parseTarget reads "host:port" for Connect and returns the host's
// canonical name and the port.
func (w *World) parseTarget(target string) (string, int, error) {
	name, port, err := ParseTarget(target)
	if err != nil {
		return "", 0, err
	}
	h, ok := w.net.Host(name)
	if !ok {
		var servers []string
		for _, h := range w.net.Hosts() {
			if len(h.Ports()) > 0 {
				servers = append(servers, h.Name())
			}
		}
		return "", 0, fmt.Errorf("connect %q: this world has no host %q (its servers: %s)", target, name, strings.Join(servers, ", "))
	}
	return h.Name(), port, nil
}

// ParseTarget reads "host:port", what Connect takes: a host name or
// address (an IPv6 one in brackets or not) and an SMTP port, 25, 587 or
// 465. Whether a world has the host is Connect's to say.
func ParseTarget(target string) (host string, port int, err error) {
	const maxTarget = 253 + 8 // the longest DNS name (RFC 1035 §2.3.4), a colon and a port
	if len(target) > maxTarget {
		return "", 0, fmt.Errorf("connect: %d characters is no host and port", len(target))
	}
	i := strings.LastIndexByte(target, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("connect %q: write a host and a port, like mx.example.org:25", target)
	}
	host = strings.TrimSuffix(strings.TrimPrefix(target[:i], "["), "]")
	port, err = strconv.Atoi(target[i+1:])
	if err != nil || (port != 25 && port != 587 && port != 465) {
		return "", 0, fmt.Errorf("connect %q: the terminal speaks SMTP, on port 25, 587 or 465", target)
	}
	if host == "" {
		return "", 0, fmt.Errorf("connect %q: the host is missing, as in mx.example.org:25", target)
	}
	return host, port, nil
}

// Advance lets virtual time pass: queues retry, faults heal, idle
// sessions time out.
func (w *World) Advance(d time.Duration) (Result, error) {
	if d <= 0 || d > MaxAdvance {
		return Result{}, fmt.Errorf("time can move forward by up to %s at once, not %s", MaxAdvance, d)
	}
	if w.net.Now() > MaxClock-d {
		return Result{}, fmt.Errorf("the lab's clock stops %d years after the world started: start the lab again to go on", maxClockYears)
	}
	if err := w.roomForInput(); err != nil {
		return Result{}, err
	}
	before := w.net.Log().Len()
	w.inputs = append(w.inputs, Input{Advance: d.String()})
	w.net.Advance(d)
	return w.result(before), nil
}

// result is what an input caused: its events and the state after it. The
// state's mailboxes are left out (nil) when the input delivered nothing, so
// a keystroke does not carry every message of the world again.
func (w *World) result(before int) Result {
	if w.replaying {
		return Result{}
	}
	events := w.net.Log().Since(before)
	delivered := slices.ContainsFunc(events, func(e trace.Event) bool { return e.Kind == trace.Delivery })
	return Result{Events: events, State: w.state(0, 0, delivered)}
}

// unescape turns \r, \n, \t, \0 and \\ into the bytes they name.
func unescape(s string) ([]byte, error) {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b = append(b, s[i])
			continue
		}
		if i+1 >= len(s) {
			return nil, errors.New(`a lone \ ends the input; write \\ for a backslash`)
		}
		i++
		switch s[i] {
		case 'r':
			b = append(b, '\r')
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case '0':
			b = append(b, 0)
		case '\\':
			b = append(b, '\\')
		default:
			return nil, fmt.Errorf(`unknown escape \%c: use \r, \n, \t, \0 or \\`, s[i])
		}
	}
	return b, nil
}

// learner is the learner's terminal: a raw SMTP client whose lines are
// typed by a person. It reads replies only to notice the 220 after
// STARTTLS, when it runs the TLS handshake for them.
type learner struct {
	w *World
	// server and port are where the terminal connects: the scenario's
	// learner.connect and port until a Connect input moves it.
	server  string
	port    int
	conn    *simnet.Conn
	lines   smtp.LineReader
	replies smtp.ReplyReader
	// awaitTLS: a STARTTLS was sent, so the next 220 starts the handshake.
	// Only a greeting and STARTTLS are answered with 220, and a new
	// connection clears it, so it waits for the 220 past the replies to
	// whatever was pipelined before STARTTLS, and a refused STARTTLS
	// leaves it set harmlessly.
	awaitTLS bool
	// dialError says why the last dial failed, until the next one.
	dialError string
}

// connect opens a connection to where the terminal connects.
func (l *learner) connect() {
	w := l.w
	from, _ := w.net.Host(w.sc.Learner.Host)
	l.lines = *smtp.NewLineReader(4096)
	l.replies.Reset()
	l.awaitTLS, l.dialError = false, ""
	l.conn = w.net.Dial(from, l.server, l.port, l)
	l.conn.Label(map[string]string{trace.AttrClient: trace.ClientTerminal})
}

// reasonHangUp is why the terminal closes its connection to connect
// elsewhere: the conn.close event's text.
const reasonHangUp = "the terminal hung up to connect elsewhere"

// moveTo hangs up and connects to server:port (see dial).
func (l *learner) moveTo(server string, port int) {
	w := l.w
	if l.conn != nil && !l.conn.IsClosed() {
		l.conn.Close(reasonHangUp)
	}
	l.server, l.port = server, port
	w.net.Emit(trace.Event{Kind: trace.Note, Host: w.sc.Learner.Host,
		Text: fmt.Sprintf("your terminal connects to %s:%d", server, port)})
	l.dial()
}

// dial connects to where the terminal connects and waits, as connect(2)
// does, until the dial is answered or gives up: the connect timeout is
// longer than Settle waits, so the clock is advanced to it when nothing
// answers.
func (l *learner) dial() {
	w := l.w
	l.connect()
	w.net.Settle()
	if deadline, waiting := l.conn.DialDeadline(); waiting {
		w.net.Advance(deadline - w.net.Now())
		w.net.Settle()
	}
}

func (l *learner) send(b []byte) {
	if l.conn == nil || l.conn.IsClosed() {
		l.dial()
	}
	if !l.conn.Established() {
		l.w.net.Emit(trace.Event{Kind: trace.Note, Host: l.w.sc.Learner.Host,
			Text: "not connected: the server cannot be reached, so the line was not sent"})
		return
	}
	if asksForTLS(b) {
		l.awaitTLS = true
	}
	_ = l.conn.Write(b)
}

// asksForTLS reports whether a line of b is STARTTLS. A raw write may
// pipeline commands behind it, as a man in the middle injecting one would
// (CVE-2011-0411): the terminal must still run the handshake, so that the
// learner sees the server drop them.
func asksForTLS(b []byte) bool {
	for line := range bytes.Lines(b) {
		if bytes.EqualFold(bytes.TrimSpace(line), []byte("STARTTLS")) {
			return true
		}
	}
	return false
}

func (l *learner) Open(c *simnet.Conn) {
	if l.port == 465 {
		l.handshake()
	}
}

func (l *learner) Data(c *simnet.Conn, p []byte) {
	l.lines.Feed(p)
	for {
		line, _, ok := l.lines.Next()
		if !ok {
			return
		}
		r, done, err := l.replies.Feed(line)
		if err != nil || !done {
			continue
		}
		if l.awaitTLS && r.Code == 220 {
			l.awaitTLS = false
			l.lines.Discard() // RFC 3207 §6: nothing read before the handshake counts after it
			l.handshake()
			return
		}
	}
}

// Closed says so when the terminal could not connect; a connection that
// ends later shows in the trace as its conn.close.
func (l *learner) Closed(c *simnet.Conn, why string) {
	var text string
	switch why {
	case simnet.ReasonRefused:
		text = "the connection was refused"
	case simnet.ReasonTimeout:
		text = "nothing answered, and the attempt timed out"
	default:
		return
	}
	l.dialError = text
	l.w.net.Emit(trace.Event{Kind: trace.Note, Host: l.w.sc.Learner.Host,
		Text: fmt.Sprintf("your terminal could not connect to %s:%d: %s", l.server, l.port, text)})
}

// handshake runs TLS for the learner. The terminal does not insist on a
// valid certificate, like `swaks -tls` or `openssl s_client`, but the trace
// shows whether it verified.
func (l *learner) handshake() {
	if _, err := l.w.mail.StartTLS(l.conn, mta.CertCheck{}); err != nil {
		l.w.net.Emit(trace.Event{Kind: trace.Note, Host: l.w.sc.Learner.Host, Text: "TLS handshake failed: " + err.Error()})
		l.conn.Close(simnet.ReasonTLS)
	}
}
