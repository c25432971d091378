package lab

import (
	"fmt"
	"time"

	"smtplab/engine/mimepart"
	"smtplab/engine/mta"
	"smtplab/engine/simnet"
)

// State is everything a front end shows besides the trace: the clock, the
// network, the queues and the mailboxes. It is detached from the world.
type State struct {
	Scenario string          `json:"scenario"`
	Now      int64           `json:"now"`  // virtual milliseconds since the start
	Date     string          `json:"date"` // RFC 3339
	Learner  LearnerState    `json:"learner"`
	Network  simnet.State    `json:"network"`
	Queue    []mta.QueueView `json:"queue"`
	// Mailboxes is nil in the Result of an input that delivered nothing:
	// they are as the last State that had them said.
	Mailboxes []MailboxView `json:"mailboxes"`
	Inputs    int           `json:"inputs"`
}

// LearnerState says where the learner's terminal is connected, or, when it
// is not, where it connects next (the scenario's server until a Connect).
type LearnerState struct {
	Host      string `json:"host"`
	Server    string `json:"server"`
	Port      int    `json:"port"`
	Connected bool   `json:"connected"`
	TLS       bool   `json:"tls"`
	Conn      int    `json:"conn,omitempty"`
	// DialError says why the terminal's last attempt to connect failed
	// ("the connection was refused"), until it next connects.
	DialError string `json:"dialError,omitempty"`
}

// MailboxView is one mailbox with its messages.
type MailboxView struct {
	Host     string        `json:"host"`
	Owner    string        `json:"owner"`
	Messages []MessageView `json:"messages"`
	Mbox     string        `json:"mbox"` // the whole mailbox as one mbox file
}

// MessageView is one delivered message.
type MessageView struct {
	ID          string   `json:"id"`
	From        string   `json:"from"`
	To          string   `json:"to"`
	Subject     string   `json:"subject"` // as a mail program shows it: encoded-words decoded (RFC 2047); Raw has them as sent
	DeliveredAt string   `json:"deliveredAt"`
	Maildir     string   `json:"maildir"`  // the file name in Maildir/new
	Received    []string `json:"received"` // the Received: chain, newest first
	Raw         string   `json:"raw"`
	// Text is the message's text as a mail program shows it (see textOf),
	// read from the whole message even when Raw is cut; TextNote says
	// what it is not (cut, in a charset the lab does not read, missing).
	Text     string `json:"text"`
	TextNote string `json:"textNote,omitempty"`
	// Attachments lists the files the message carries (see
	// attachmentsOf), read from the whole message even when Raw is cut.
	Attachments []AttachmentView `json:"attachments,omitempty"`
}

// State returns a snapshot of the world now.
func (w *World) State() State { return w.state(0, 0, true) }

// LiveState is State for a page that follows a world fed by real clients
// (the TCP bridge's live feed), sent again and again while mail arrives:
// only the newest messages of each mailbox, each message's raw text cut
// after rawBytes octets, and no mbox renderings.
func (w *World) LiveState(messages, rawBytes int) State { return w.state(messages, rawBytes, true) }

// state builds State; messages and rawBytes above zero limit it as
// LiveState says, and without mail its Mailboxes are nil.
func (w *World) state(messages, rawBytes int, mail bool) State {
	st := State{
		Scenario: w.sc.Name,
		Now:      w.net.Now().Milliseconds(),
		Date:     w.net.Date().Format(time.RFC3339),
		Network:  w.net.State(),
		Queue:    w.mail.QueueEntries(),
		Inputs:   len(w.inputs),
		Learner:  LearnerState{Host: w.sc.Learner.Host, Server: w.learner.server, Port: w.learner.port, DialError: w.learner.dialError},
	}
	if c := w.learner.conn; c != nil && c.Established() {
		st.Learner.Connected, st.Learner.TLS, st.Learner.Conn = true, c.TLS(), c.ID()
	}
	for _, h := range w.mail.Hosts() {
		if !mail {
			break
		}
		for _, owner := range h.Mailboxes.Owners() {
			msgs := h.Mailboxes.Messages(owner)
			box := MailboxView{Host: h.Name(), Owner: owner}
			if messages > 0 {
				msgs = msgs[max(len(msgs)-messages, 0):]
			} else {
				box.Mbox = string(mta.Mbox(msgs))
			}
			for _, m := range msgs {
				hdr, _ := mimepart.Headers(m.Raw)
				text, note := textOf(m.Raw)
				box.Messages = append(box.Messages, MessageView{
					ID: m.ID, From: m.From, To: m.To, Subject: mimepart.DecodeWords(hdr.Get("Subject")),
					DeliveredAt: m.DeliveredAt.Format(time.RFC3339), Maildir: mta.MaildirName(m, h.Name()),
					Received: hdr.Values("Received"), Raw: cutRaw(m.Raw, rawBytes), Attachments: attachmentsOf(m.Raw),
					Text: text, TextNote: note,
				})
			}
			st.Mailboxes = append(st.Mailboxes, box)
		}
	}
	if st.Queue == nil {
		st.Queue = []mta.QueueView{}
	}
	if st.Mailboxes == nil && mail {
		st.Mailboxes = []MailboxView{}
	}
	return st
}

// cutRaw returns raw as text, cut after n octets (n > 0) with a last line
// that says so.
func cutRaw(raw []byte, n int) string {
	if n <= 0 || len(raw) <= n {
		return string(raw)
	}
	return fmt.Sprintf("%s\r\n\r\n[SMTP Lab: only the first %d of this message's %d octets are shown here]\r\n", raw[:n], n, len(raw))
}
