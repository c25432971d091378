package labtls

import (
	"crypto/tls"
	"errors"
	"fmt"
)

// Codec is one end of an established TLS connection, driven without
// goroutines: Seal turns plaintext into TLS records to put on the wire, and
// Open turns records that arrived, in chunks of any size, back into
// plaintext. It satisfies simnet's Codec interface.
//
// Both run the real crypto/tls.Conn over an in-memory connection that never
// blocks. A Codec is not safe for concurrent use; the simulated network
// calls it from its one event loop.
type Codec struct {
	conn *tls.Conn
	mem  *memConn
	buf  []byte
}

func newCodec(conn *tls.Conn, mem *memConn) *Codec {
	return &Codec{conn: conn, mem: mem, buf: make([]byte, 16<<10)}
}

// Seal returns the records that carry plain. Records also carry anything
// crypto/tls still owed the peer (an alert after a failed Open, say), in
// the order it was due. After a fatal error Seal returns at most that
// alert; Open reports the error.
func (c *Codec) Seal(plain []byte) []byte {
	if len(plain) > 0 {
		// Write only fails once the connection is broken, which Open has
		// already reported; the records owed so far are still returned.
		_, _ = c.conn.Write(plain)
	}
	return c.mem.take()
}

// Open returns the plaintext carried by records. A record split across
// calls is kept until the rest of it arrives. A close_notify alert from the
// peer ends the stream: Open returns the plaintext before it and io.EOF.
// Any other error (a record that does not decrypt, say) is fatal for the
// connection.
func (c *Codec) Open(records []byte) ([]byte, error) {
	c.mem.in = append(c.mem.in, records...)
	var plain []byte
	for {
		n, err := c.conn.Read(c.buf)
		plain = append(plain, c.buf[:n]...)
		switch {
		case err == nil:
			continue
		case errors.As(err, new(errWouldBlock)):
			return plain, nil
		default:
			return plain, fmt.Errorf("labtls: open records: %w", err)
		}
	}
}

// Close returns the close_notify alert that tells the peer no more data
// will come (RFC 8446 §6.1). Seal must not be called afterwards.
func (c *Codec) Close() []byte {
	_ = c.conn.CloseWrite() // fails only if already broken; nothing to send then
	return c.mem.take()
}

// State returns the connection's TLS state.
func (c *Codec) State() tls.ConnectionState { return c.conn.ConnectionState() }
