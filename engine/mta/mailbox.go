package mta

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"smtplab/engine/mimepart"
)

// StoredMessage is one message delivered into a local mailbox.
type StoredMessage struct {
	ID          string    `json:"id"`          // queue id of the delivering host
	From        string    `json:"from"`        // envelope sender ("" for a bounce)
	To          string    `json:"to"`          // the mailbox it was delivered to
	DeliveredAt time.Time `json:"deliveredAt"` // virtual time
	Raw         []byte    `json:"-"`           // the message as stored, Return-Path first
}

// Mailboxes holds the local mailboxes of one host, keyed by address. The zero
// value is ready to use.
type Mailboxes struct {
	boxes map[string][]StoredMessage
	quota map[string]int // messages a mailbox holds at most; absent = unlimited
	bytes map[string]int // octets a mailbox holds at most; absent = unlimited

	// keepBytes, when above zero, is how many octets of messages a mailbox
	// keeps: past it the oldest are removed (see KeepBytes).
	keepBytes int
	sizes     map[string]int // octets held per mailbox, kept while keepBytes > 0
}

// KeepBytes makes every mailbox keep only its newest messages, about n
// octets of them (always the newest one, however large). It is for a world
// that takes mail from real clients for as long as a process runs, the TCP
// bridge, whose memory must stay bounded; a simulated world never removes
// mail. Zero keeps everything.
func (m *Mailboxes) KeepBytes(n int) {
	m.keepBytes = max(n, 0)
	m.sizes = nil
	if m.keepBytes > 0 {
		m.sizes = map[string]int{}
		for addr, box := range m.boxes {
			for _, msg := range box {
				m.sizes[addr] += len(msg.Raw)
			}
		}
	}
}

// SetQuota limits how many messages the mailbox of addr may hold; 0 means
// the mailbox is full from the start.
func (m *Mailboxes) SetQuota(addr string, messages int) {
	if m.quota == nil {
		m.quota = map[string]int{}
	}
	m.quota[lower(addr)] = messages
}

// SetByteQuota limits how many octets of mail the mailbox of addr may hold.
func (m *Mailboxes) SetByteQuota(addr string, octets int) {
	if m.bytes == nil {
		m.bytes = map[string]int{}
	}
	m.bytes[lower(addr)] = octets
}

// Room returns how many more octets the mailbox of addr may take, and false
// when it has no byte quota. The Return-Path line delivery adds counts.
func (m *Mailboxes) Room(addr string) (int, bool) {
	addr = lower(addr)
	q, limited := m.bytes[addr]
	if !limited {
		return 0, false
	}
	for _, msg := range m.boxes[addr] {
		q -= len(msg.Raw)
	}
	return max(q, 0), true
}

// Full reports whether the mailbox of addr has reached its quota.
func (m *Mailboxes) Full(addr string) bool {
	if len(m.quota) == 0 {
		return false // no mailbox here has a quota, as most hosts: nothing to look up
	}
	addr = lower(addr)
	q, limited := m.quota[addr]
	return limited && len(m.boxes[addr]) >= q
}

// Deliver stores msg in the mailbox msg.To, adding the Return-Path header
// that RFC 5321 §4.4 says the final delivery adds, in place of any the
// message carried (see withoutReturnPath). It returns the message as
// stored and how many old messages it pushed out (see KeepBytes).
func (m *Mailboxes) Deliver(msg StoredMessage) (stored StoredMessage, removed int) {
	text, _ := withoutReturnPath(msg.Raw)
	return m.deliverText(msg, text)
}

// deliverText is Deliver for msg whose text, without the Return-Path
// fields it carried, is text: the caller has looked for them already.
func (m *Mailboxes) deliverText(msg StoredMessage, text []byte) (stored StoredMessage, removed int) {
	raw := returnPath(make([]byte, 0, len("Return-Path: <>\r\n")+len(msg.From)+len(text)), msg.From)
	msg.Raw = append(raw, text...)
	return m.store(msg)
}

// withoutReturnPath returns msg without the Return-Path fields its header
// holds, and whether it held any. The one a delivery adds is the envelope
// sender; one that came in the message is whatever its writer typed, and
// under it a mail reader, which takes the first, or a person, could take
// either. RFC 5321 §4.4 lets the final delivery remove them, and Postfix
// (cleanup) and Exim (return_path_remove) do; a relay leaves the message
// as it is.
func withoutReturnPath(msg []byte) ([]byte, bool) {
	if !lineStartsFold(msg, "return-path") {
		return msg, false // the common case, told by a look at the start of each line
	}
	return mimepart.Without(msg, "Return-Path")
}

// returnPath appends the Return-Path line that delivery adds on top of a
// message from sender.
func returnPath(b []byte, sender string) []byte {
	return append(append(append(b, "Return-Path: <"...), sender...), ">\r\n"...)
}

// store is Deliver for a message that has its Return-Path line already:
// msg.Raw is kept as it is, and may be shared with other mailboxes, as no
// one changes a stored message.
func (m *Mailboxes) store(msg StoredMessage) (stored StoredMessage, removed int) {
	if m.boxes == nil {
		m.boxes = map[string][]StoredMessage{}
	}
	key := lower(msg.To)
	box := m.boxes[key]
	if len(box) == cap(box) {
		// Twice the room, where append would add a quarter once a mailbox
		// holds a few hundred messages: a mailbox the bridge fills under
		// load would otherwise copy every entry about five times over.
		box = slices.Grow(box, max(len(box), 4))
	}
	box = append(box, msg)
	if m.keepBytes > 0 {
		m.sizes[key] += len(msg.Raw)
		for m.sizes[key] > m.keepBytes && removed < len(box)-1 {
			m.sizes[key] -= len(box[removed].Raw)
			removed++
		}
		// Zeroed, the removed messages' octets can be collected now; the
		// slots themselves go when the box next grows into a new array.
		clear(box[:removed])
		box = box[removed:]
	}
	m.boxes[key] = box
	return msg, removed
}

// Owners returns the addresses that have mail, sorted.
func (m *Mailboxes) Owners() []string {
	owners := make([]string, 0, len(m.boxes))
	for k := range m.boxes {
		owners = append(owners, k)
	}
	sort.Strings(owners)
	return owners
}

// Messages returns the messages of addr in delivery order.
func (m *Mailboxes) Messages(addr string) []StoredMessage {
	return m.boxes[lower(addr)]
}

// MaildirName returns the file name a Maildir (new/) would give msg:
// time.id.host, as the Maildir convention has it, deterministic here because
// the time is virtual and the id comes from the queue.
func MaildirName(msg StoredMessage, host string) string {
	return fmt.Sprintf("%d.%s.%s", msg.DeliveredAt.Unix(), msg.ID, host)
}

// Mbox renders messages as one mbox file in the mboxrd flavour: each message
// starts with a "From sender date" line, and body lines that start with
// ">*From " get one more ">" so they cannot be mistaken for a separator.
// Line ends become LF, as mbox files use.
func Mbox(msgs []StoredMessage) []byte {
	var b bytes.Buffer
	for _, msg := range msgs {
		from := msg.From
		if from == "" {
			from = "MAILER-DAEMON"
		}
		fmt.Fprintf(&b, "From %s %s\n", from, msg.DeliveredAt.UTC().Format(time.ANSIC))
		text := strings.ReplaceAll(string(msg.Raw), "\r\n", "\n")
		for _, line := range strings.SplitAfter(text, "\n") {
			if strings.HasPrefix(strings.TrimLeft(line, ">"), "From ") {
				b.WriteByte('>')
			}
			b.WriteString(line)
		}
		if !strings.HasSuffix(text, "\n") {
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}
