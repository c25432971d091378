package lab

import (
	"time"

	"smtplab/engine/mta"
	"smtplab/engine/simnet"
)

// State is everything a front end shows besides the trace: the clock, the
// network, the queues and the mailboxes. It is detached from the world.
type State struct {
	Scenario  string          `json:"scenario"`
	Now       int64           `json:"now"`  // virtual milliseconds since the start
	Date      string          `json:"date"` // RFC 3339
	Learner   LearnerState    `json:"learner"`
	Network   simnet.State    `json:"network"`
	Queue     []mta.QueueView `json:"queue"`
	Mailboxes []MailboxView   `json:"mailboxes"`
	Inputs    int             `json:"inputs"`
}

// LearnerState says where the learner's terminal is connected.
type LearnerState struct {
	Host      string `json:"host"`
	Server    string `json:"server"`
	Port      int    `json:"port"`
	Connected bool   `json:"connected"`
	TLS       bool   `json:"tls"`
	Conn      int    `json:"conn,omitempty"`
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
	Subject     string   `json:"subject"`
	DeliveredAt string   `json:"deliveredAt"`
	Maildir     string   `json:"maildir"`  // the file name in Maildir/new
	Received    []string `json:"received"` // the Received: chain, newest first
	Raw         string   `json:"raw"`
}

// State returns a snapshot of the world now.
func (w *World) State() State {
	st := State{
		Scenario: w.sc.Name,
		Now:      w.net.Now().Milliseconds(),
		Date:     w.net.Date().Format(time.RFC3339),
		Network:  w.net.State(),
		Queue:    w.mail.QueueEntries(),
		Inputs:   len(w.inputs),
		Learner:  LearnerState{Host: w.sc.Learner.Host, Server: w.sc.Learner.Connect, Port: w.sc.Learner.Port},
	}
	if c := w.learner.conn; c != nil && c.Established() {
		st.Learner.Connected, st.Learner.TLS, st.Learner.Conn = true, c.TLS(), c.ID()
	}
	for _, h := range w.mail.Hosts() {
		for _, owner := range h.Mailboxes.Owners() {
			msgs := h.Mailboxes.Messages(owner)
			box := MailboxView{Host: h.Name(), Owner: owner, Mbox: string(mta.Mbox(msgs))}
			for _, m := range msgs {
				hdr, _ := mta.Headers(m.Raw)
				box.Messages = append(box.Messages, MessageView{
					ID: m.ID, From: m.From, To: m.To, Subject: hdr.Get("Subject"),
					DeliveredAt: m.DeliveredAt.Format(time.RFC3339), Maildir: mta.MaildirName(m, h.Name()),
					Received: hdr.Values("Received"), Raw: string(m.Raw),
				})
			}
			st.Mailboxes = append(st.Mailboxes, box)
		}
	}
	if st.Queue == nil {
		st.Queue = []mta.QueueView{}
	}
	if st.Mailboxes == nil {
		st.Mailboxes = []MailboxView{}
	}
	return st
}
