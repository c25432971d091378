package client

import (
	"testing"

	"smtplab/engine/mimepart"
	"smtplab/engine/smtp"
)

// FuzzServerReplies feeds random server bytes, in random chunks, to a client
// that tries every feature: it must never panic, must keep its buffers
// bounded, and must end in a coherent state.
func FuzzServerReplies(f *testing.F) {
	f.Add([]byte(greeting+ehlo("PIPELINING", "STARTTLS", "AUTH CRAM-MD5 PLAIN", "CHUNKING", "SIZE 10")+"220 go\r\n"), uint8(3))
	f.Add([]byte(greeting+ehlo("PIPELINING")+okMail+okRcpt+"550 no\r\n"+goAhead+queued+bye), uint8(7))
	f.Add([]byte(greeting+"250-a\r\n250-b\r\n251 c\r\n334 PDE+\r\n"), uint8(1))
	f.Add([]byte("220\r\n250\n250 AUTH LOGIN\r\n334 \r\n334\r\n235\r\n"), uint8(2))
	f.Fuzz(func(t *testing.T, input []byte, chunk uint8) {
		// A session is over long before 64 KiB of replies; longer inputs
		// only slow the fuzzer (and its minimiser) down.
		input = input[:min(len(input), 64<<10)]
		cfg := Config{Hostname: "c.example", TLS: TLSOpportunistic, Auth: &Credentials{"u", "p"},
			AllowPlaintextAuth: true, ChunkSize: 4}
		e := Envelope{}
		for _, to := range []string{"b@example.org", "c@example.org"} {
			e.To = append(e.To, env(t, "", to).To...)
		}
		c, err := New(cfg, e, []byte("Subject: x\r\n\r\n.body\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		step := int(chunk%16) + 1
		for len(input) > 0 && c.Action() != ActionClose {
			n := min(step, len(input))
			c.Feed(input[:n])
			input = input[n:]
			c.Output()
			if c.Action() == ActionStartTLS {
				c.TLSStarted(nil)
			}
			if c.lines.Buffered() > maxReplyLine+step+1 || len(c.cur) > maxReplyLines*(maxReplyLine+2) {
				t.Fatalf("buffers grew: %d pending, %d in the reply", c.lines.Buffered(), len(c.cur))
			}
		}
		c.ConnectionLost(errString("fuzz"))
		o := c.Outcome()
		if c.Action() != ActionClose || o.Status == Pending {
			t.Fatalf("not closed after the connection was lost: %v %+v", c.Action(), o)
		}
		for _, r := range o.Recipients {
			if r.Status == Pending || (r.Err == nil && r.Reply.Code == 0) {
				t.Fatalf("recipient without a decision or a reason: %+v", r)
			}
			if r.SessionFailure && r.Status == Delivered {
				t.Fatalf("a delivered recipient is marked as failed with the session: %+v", r)
			}
			if r.Status == Delivered && r.Verb != smtp.DATA && r.Verb != smtp.BDAT {
				t.Fatalf("a delivered recipient was decided by the reply to %q, not to its content: %+v", r.Verb, r)
			}
		}
	})
}

// FuzzHasUTF8Header reads random messages for a header of raw UTF-8 at any
// level of their MIME structure: it must never panic, must find none in a
// message that is all ASCII, and must find the one in a message's own
// header.
func FuzzHasUTF8Header(f *testing.F) {
	f.Add([]byte("Subject: caf\xc3\xa9\r\n\r\nhi\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/global\r\n\r\nSubject: \xc3\xa9\r\n\r\nx\r\n--b--\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n\xc3\xa9\r\n--b--\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		msg = canonical(msg[:min(len(msg), 64<<10)], nil)
		got := hasUTF8Header(msg)
		if !has8bit(msg) && got {
			t.Errorf("found a UTF-8 header in an ASCII message: %q", msg)
		}
		if end, _ := mimepart.HeaderEnd(msg); has8bit(msg[:end]) && !got {
			t.Errorf("missed the message's own UTF-8 header: %q", msg)
		}
	})
}
