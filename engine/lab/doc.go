// Package lab is the one facade every front end of SMTP Lab uses: the
// browser bridge (wasm/browser), the TCP bridge (bridge) and the tests. It
// builds a world from a scenario, lets the learner type as a client, submits
// mail, moves virtual time, and hands out the trace and a JSON-friendly
// state. Front ends never reach past it into the engine.
//
// # Scenarios
//
// A scenario is a JSON file in scenarios/ (embedded): its hosts with their
// ports, domains, users, passwords and policies (see mta.HostConfig), its
// DNS records in zone-file form (see dns.Parse), the faults it injects
// (host down or unreachable, DNS failures, a connection cut after n bytes,
// a slow link, a man in the middle stripping STARTTLS, an outgoing port
// blocked), and where the learner sits and connects. Scenarios lists them; LoadScenario reads one.
//
// # Worlds
//
// New(scenario, seed) builds a world and connects the learner's terminal to
// the scenario's server, so the trace starts with the greeting. Then:
//
//	Type(line)      a line from the terminal (CRLF added); reconnects after QUIT
//	TypeRaw(text)   bytes with escapes \r \n \t \0 \\, nothing added (bare LF, smuggling)
//	Submit(msg)     the learner's mail client submits a message to the scenario's
//	                learner.submit server, or else to the terminal's (587 with STARTTLS
//	                and AUTH when the server has it, else 25); with attachments it
//	                writes a MIME multipart/mixed message, the files in base64
//	                (see Attachment and its limits); a text with a line longer
//	                than SMTP carries goes quoted-printable
//	Advance(d)      virtual time passes: queues retry, faults heal, idle sessions time out
//	Connect(target) the terminal hangs up and connects to "host:port" (25, 587 or 465),
//	                waiting for the answer as connect(2) does; typing goes there from now on
//	Do(input)       any of the above, as data
//
// Each returns a Result: the trace events the action caused and the State
// after it (clock, network, queues, mailboxes with their messages, their
// attachments, Maildir names and mbox). A STARTTLS typed by the learner is answered with a real
// TLS handshake (engine/labtls) on the simulated wire; the terminal accepts
// any certificate, as swaks or openssl s_client would, and the trace says
// whether it verified.
//
// A world is its scenario, seed and inputs: Snapshot returns them, Restore
// replays them to the same trace byte for byte, and Undo is Restore minus
// the last input. Determinism of TLS ciphertext needs GODEBUG
// cryptocustomrand=1, which go.mod sets for every binary and test of the
// module.
//
// # The trace
//
// Everything observable is one trace.Event in one ordered list: the schema,
// kind by kind, is documented in package engine/trace. Times are virtual
// milliseconds since the world started. Lessons check goals against it
// (lessons/goal); the page draws every view from it.
//
// Every connection the learner's terminal opens is labelled: its conn.open
// event (or the conn.refused or timed-out conn.close of a dial that failed)
// has the attribute client: terminal (trace.AttrClient,
// trace.ClientTerminal). Every other event of that connection shares its
// conn number, so a reader tells what the learner typed from what the
// mail client (Submit), a relay or a real client did. Commands and replies
// carry tls: true once the connection is encrypted.
//
// # Real clients
//
// ServeExternal lets a connection from outside the simulated world (the TCP
// bridge) talk to a scenario host's real server state machine, with the same
// policies, mailboxes and trace.
package lab
